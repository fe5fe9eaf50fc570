"""Shared fixtures: the tiny synthetic corpus, built once per test session; benchmark scripts."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@contextmanager
def _benchmark_module(name: str) -> Iterator[ModuleType]:
    """``benchmarks/<name>.py`` as a module, registered while loaded (dataclasses need it)."""
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded corpus' ``tiny`` preset (seed 0): a few ~30 s movies with ground truth."""
    from movierep.corpus import make_corpus

    return make_corpus(tmp_path_factory.mktemp("tiny_corpus") / "corpus", preset="tiny", seed=0)


@pytest.fixture(scope="session", autouse=True)
def frame_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Keep the tests' decoded-frame cache (``$MOVIEREP_CACHE_DIR``) in a session folder."""
    import os

    from movierep.video.frame_cache import CACHE_ENV

    root = tmp_path_factory.mktemp("movierep_cache")
    previous = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(root)
    yield root
    if previous is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = previous


@pytest.fixture(scope="session")
def benchmark_module() -> Callable[[str], AbstractContextManager[ModuleType]]:
    """``benchmark_module(name)``: a context manager loading ``benchmarks/<name>.py``."""
    return _benchmark_module

"""Shared fixtures: the tiny synthetic corpus, built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest


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

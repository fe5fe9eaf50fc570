"""Shared fixtures: the tiny synthetic corpus, built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded corpus' ``tiny`` preset (seed 0): a few ~30 s movies with ground truth."""
    from movierep.corpus import make_corpus

    return make_corpus(tmp_path_factory.mktemp("tiny_corpus") / "corpus", preset="tiny", seed=0)

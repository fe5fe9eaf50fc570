"""benchmarks/scene_content_sharing.py on the tiny corpus: report structure and one rate."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow.parquet as pq
import pytest

from movierep.data.corpus import Corpus


@pytest.fixture(scope="module")
def script(benchmark_module: Callable[[str], Any]) -> Iterator[ModuleType]:
    """The benchmark script as a module."""
    with benchmark_module("scene_content_sharing") as module:
        yield module


def test_rates_of_every_source_on_the_tiny_corpus(script: ModuleType, tiny_corpus: Path) -> None:
    rates = script.measure(tiny_corpus)
    assert set(rates) == {"random", "cowatch", "cowatch_next", "genre", "synopsis"}
    assert rates["random"]["movie_pairs"] == 6  # 4 movies
    for row in rates.values():
        assert row["movie_pairs"] <= 6
        for key in ("same_place", "same_character"):
            assert row[key] is None or 0.0 <= row[key] <= 1.0
    assert "| cowatch |" in script.table(rates)


def test_sharing_counts_scene_pairs(script: ModuleType, tiny_corpus: Path) -> None:
    """Recomputed from the raw tables for the first two movies."""
    scenes = pq.read_table(tiny_corpus / "truth" / "scenes.parquet").to_pylist()
    cast = pq.read_table(tiny_corpus / "truth" / "characters.parquet").to_pylist()
    looks = {(c["movie_id"], c["character_id"]): (c["shape"], c["color"], c["size"]) for c in cast}
    a = [s for s in scenes if s["movie_id"] == "m0000"]
    b = [s for s in scenes if s["movie_id"] == "m0001"]
    pairs = list(itertools.product(a, b))
    place = sum(x["place"] == y["place"] for x, y in pairs) / len(pairs)
    who = [
        {looks[x["movie_id"], c] for c in x["characters"]}
        & {looks[y["movie_id"], c] for c in y["characters"]}
        for x, y in pairs
    ]
    character = sum(bool(w) for w in who) / len(pairs)
    assert script.Scenes(Corpus(tiny_corpus)).sharing(0, 1) == pytest.approx((place, character))

"""The FAISS index of a store level: kinds, recall against exact search, growth, search rows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from movierep.errors import UserError
from movierep.store.index import (
    EXACT_LIMIT,
    StoreIndex,
    build_index,
    choose_kind,
    default_params,
    index_dir,
    search,
)
from movierep.store.layout import LevelInfo, level_table, movie_file, write_info, write_movie
from movierep.tables import read_table

D = 16
INFO = LevelInfo("random", "none", "0123456789abcdef", D)


def random_movies(n_movies: int, items: int, seed: int, prefix: str = "m") -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        f"{prefix}{i:03d}": rng.standard_normal((items, D)).astype(np.float32)
        for i in range(n_movies)
    }


def add_movies(store: Path, movies: dict[str, np.ndarray]) -> None:
    write_info(store, "scenedetect", {"scene": INFO})
    for movie, x in movies.items():
        n = len(x)
        write_movie(
            store,
            "scene",
            level_table(
                movie,
                "scene",
                INFO,
                item_index=range(n),
                start_time=[10.0 * i for i in range(n)],
                end_time=[10.0 * i + 10 for i in range(n)],
                embeddings=x,
                start_shot=[3 * i for i in range(n)],
                end_shot=[3 * i + 3 for i in range(n)],
                keyframe=[f"keyframes/{movie}/shot_{3 * i:04d}_img_1.jpg" for i in range(n)],
            ),
        )


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def neighbours(table, n_queries: int, k: int) -> list[list[tuple[str, int]]]:
    rows = table.to_pylist()
    return [
        [(r["movie_id"], r["item_index"]) for r in rows if r["query"] == q][:k]
        for q in range(n_queries)
    ]


def recall(found: list[list[tuple[str, int]]], truth: list[list[tuple[str, int]]]) -> float:
    return float(
        np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)])
    )


def test_kind_by_size_and_parameters() -> None:
    assert choose_kind(EXACT_LIMIT) == "flat" and choose_kind(EXACT_LIMIT + 1) == "ivf"
    assert choose_kind(10, "hnsw") == "hnsw"
    assert default_params("ivf", 1_000_000) == {"nlist": 4000, "nprobe": 16}
    assert default_params("ivf", 100) == {"nlist": 2, "nprobe": 2}  # >= 39 points per cell
    assert default_params("hnsw", 10, ef_search=99)["efSearch"] == 99
    with pytest.raises(UserError, match="'annoy'"):
        choose_kind(10, "annoy")


def test_approximate_recall_at_10_against_exact_search(tmp_path: Path) -> None:
    movies = random_movies(50, 100, seed=0)  # 5,000 random vectors, D = 16
    add_movies(tmp_path, movies)
    queries = np.random.default_rng(1).standard_normal((200, D)).astype(np.float32)
    build_index(tmp_path, "scene", "flat")
    exact = search(tmp_path, queries, 10)
    truth = neighbours(exact, 200, 10)
    # the exact scores are the cosines, computed here independently
    x = unit(np.concatenate(list(movies.values())))
    best = np.sort(unit(queries) @ x.T, axis=1)[:, ::-1][:, :10]
    np.testing.assert_allclose(
        np.asarray(exact["score"].to_pylist()).reshape(200, 10), best, atol=1e-5
    )

    report = build_index(tmp_path, "scene", "ivf", nprobe=32)
    assert report.from_scratch and report.params == {"nlist": 128, "nprobe": 32}
    ivf = recall(neighbours(search(tmp_path, queries, 10), 200, 10), truth)
    few = StoreIndex(tmp_path, "scene", nprobe=4).search(queries, 10)
    every = StoreIndex(tmp_path, "scene", nprobe=128).search(queries, 10)
    assert recall(neighbours(few, 200, 10), truth) < ivf
    assert recall(neighbours(every, 200, 10), truth) == 1.0  # all cells: exact
    assert ivf >= 0.9, ivf

    build_index(tmp_path, "scene", "hnsw")
    hnsw = recall(neighbours(search(tmp_path, queries, 10), 200, 10), truth)
    assert hnsw >= 0.9, hnsw
    meta = json.loads((index_dir(tmp_path, "scene") / "index.json").read_text())
    assert (meta["kind"], meta["n"], meta["dim"], len(meta["movies"])) == ("hnsw", 5000, D, 50)
    assert meta["params"] == {"M": 32, "efConstruction": 40, "efSearch": 64}


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_an_item_finds_itself_first_and_exclusion_leaves_its_movie_out(
    kind: str, tmp_path: Path
) -> None:
    movies = random_movies(20, 30, seed=2)
    add_movies(tmp_path, movies)
    build_index(tmp_path, "scene", kind)
    queries = np.stack([movies["m003"][7], movies["m011"][0]])
    found = search(tmp_path, queries, 5).to_pylist()
    first = [r for r in found if r["rank"] == 1]
    assert [(r["movie_id"], r["item_index"]) for r in first] == [("m003", 7), ("m011", 0)]
    assert all(abs(r["score"] - 1) < 1e-5 for r in first)
    assert first[0]["start_time"] == 70.0 and first[0]["end_time"] == 80.0
    assert first[0]["keyframe"] == "keyframes/m003/shot_0021_img_1.jpg"
    others = search(tmp_path, queries, 5, exclude_movies=["m003", "m011"]).to_pylist()
    assert len(others) == 10
    assert not any(r["movie_id"] == ["m003", "m011"][r["query"]] for r in others)
    assert [r["rank"] for r in others] == [1, 2, 3, 4, 5] * 2


def test_growing_the_index_equals_building_it_anew(tmp_path: Path) -> None:
    first = random_movies(30, 20, seed=3, prefix="b")
    later = random_movies(20, 20, seed=4, prefix="a")  # sort before the first ones
    queries = np.random.default_rng(5).standard_normal((50, D)).astype(np.float32)
    grown, fresh = tmp_path / "grown", tmp_path / "fresh"
    add_movies(grown, first)
    assert build_index(grown, "scene", "flat").added_movies == 30
    add_movies(grown, later)
    report = build_index(grown, "scene", "flat")
    assert (report.from_scratch, report.added_movies, report.added_vectors, report.n) == (
        False, 20, 400, 1000,
    )  # fmt: skip
    add_movies(fresh, {**first, **later})
    assert build_index(fresh, "scene", "flat").from_scratch
    a, b = search(grown, queries, 10), search(fresh, queries, 10)
    assert a.select(["query", "rank", "movie_id", "item_index"]).equals(
        b.select(["query", "rank", "movie_id", "item_index"])
    )
    np.testing.assert_allclose(a["score"].to_numpy(), b["score"].to_numpy(), atol=1e-6)
    assert build_index(grown, "scene", "flat").added_movies == 0  # nothing new: nothing added

    # IVF: trained once on the first movies, later builds only add
    ivf = tmp_path / "ivf"
    add_movies(ivf, first)
    built = build_index(ivf, "scene", "ivf")
    add_movies(ivf, later)
    grown_ivf = build_index(ivf, "scene", "ivf")
    assert not grown_ivf.from_scratch and grown_ivf.params == built.params
    meta = json.loads((index_dir(ivf, "scene") / "index.json").read_text())
    assert meta["trained"] == {"vectors": 600, "movies": 30, "of_vectors": 600}
    assert [h["added_movies"] for h in meta["history"]] == [30, 20]
    rows = read_table(index_dir(ivf, "scene") / "rows.parquet")
    assert rows["id"].to_pylist() == list(range(1000))
    every = StoreIndex(ivf, "scene", nprobe=built.params["nlist"]).search(queries, 10)
    assert every.select(["movie_id", "item_index"]).equals(b.select(["movie_id", "item_index"]))


def test_rebuilt_from_scratch_when_the_store_changed_under_it(tmp_path: Path) -> None:
    movies = random_movies(5, 10, seed=6)
    add_movies(tmp_path, movies)
    build_index(tmp_path, "scene")
    movie_file(tmp_path, "scene", "m002").unlink()
    report = build_index(tmp_path, "scene")
    assert report.from_scratch and "left the store" in report.reason and report.n == 40
    assert "kind flat -> hnsw" in build_index(tmp_path, "scene", "hnsw").reason
    other = LevelInfo("random", "none", "fedcba9876543210", D)
    shutil.rmtree(tmp_path / "scene")
    (tmp_path / "store.json").unlink()
    write_info(tmp_path, "scenedetect", {"scene": other})
    x = movies["m000"]
    write_movie(
        tmp_path,
        "scene",
        level_table("m000", "scene", other, item_index=range(10), start_time=[0.0] * 10,
                    end_time=[1.0] * 10, embeddings=x),
    )  # fmt: skip
    assert "encoder changed" in build_index(tmp_path, "scene", "hnsw").reason


def test_no_index_or_no_embeddings_is_a_user_error(tmp_path: Path) -> None:
    write_info(tmp_path, "scenedetect", {"scene": INFO})
    with pytest.raises(UserError, match="no scene embeddings"):
        build_index(tmp_path, "scene")
    with pytest.raises(UserError, match="no scene index"):
        StoreIndex(tmp_path, "scene")
    with pytest.raises(UserError, match="has no 'event' level"):
        build_index(tmp_path, "event")

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
import torch.nn.functional as F

from movierep.checkpoint import save_checkpoint
from movierep.errors import UserError
from movierep.features.shot_features import movie_features
from movierep.features.shot_store import ShotFeatureStore
from movierep.models.shot_adjacency import ShotAdjacencyConfig, ShotAdjacencyNet
from movierep.similarity.scene_pairs import (
    EMBEDDED_MOVIES,
    P_SCENE,
    greedy_non_overlapping,
    iter_scene_pairs,
    scene_adjacency,
    select_pairs,
    select_scene_pairs,
    top_fraction,
    window_adjacency,
)
from movierep.tables import embedding_array, read_table, write_table

NET_KWARGS = {
    "input_dim": 8,
    "hidden_dim": 16,
    "num_shots": 32,
    "scene_kernel": 4,
    "scene_stride": 2,
    "pool_kernel": 4,
    "pool_stride": 2,
    "cosine": True,
}


def small_net() -> ShotAdjacencyNet:
    torch.manual_seed(0)
    return ShotAdjacencyNet(ShotAdjacencyConfig(**NET_KWARGS)).eval()  # type: ignore[arg-type]


def _write_shots(path: Path, feats: dict[str, torch.Tensor]) -> None:
    """A shot_features table of ``feats`` (movie → (M, D)), rows in shot order."""
    write_table(path, pa.table({
        "movie_id": [m for m, f in feats.items() for _ in range(len(f))],
        "shot_index": [i for f in feats.values() for i in range(len(f))],
        "feature": embedding_array(torch.cat(list(feats.values())).numpy()),
    }))  # fmt: skip


def test_top_fraction_picks_exactly_the_best_half() -> None:
    scores = torch.tensor([[0.1, 0.9, 0.3], [0.7, 0.2, 0.8]])
    chosen = top_fraction(scores, 0.5)
    assert chosen.tolist() == [1, 5, 3]  # 0.9, 0.8, 0.7
    kept = scores.flatten()[chosen]
    dropped = scores.flatten()[[i for i in range(6) if i not in chosen.tolist()]]
    assert kept.min() > dropped.max()
    assert len(top_fraction(torch.tensor([[1.0]]), 0.5)) == 1  # never empty


def brute_force_pop(scores: torch.Tensor, window: int, fraction: float) -> list[tuple[int, int]]:
    """The supplement's sentence read literally: walk the sorted top half, skip overlaps."""
    cols = scores.shape[1]
    flat = scores.flatten().tolist()
    order = sorted(range(len(flat)), key=lambda k: (-flat[k], k))
    candidates = order[: max(1, int(fraction * len(flat)))]
    kept: list[tuple[int, int]] = []
    for k in candidates:
        i, j = divmod(k, cols)
        if all(abs(i - a) >= window and abs(j - b) >= window for a, b in kept):
            kept.append((i, j))
    return kept


@pytest.mark.parametrize("window", [1, 2, 3, 9])
@pytest.mark.parametrize("fraction", [0.5, 0.2, 1.0])
def test_greedy_pop_matches_the_brute_force_reading(window: int, fraction: float) -> None:
    g = torch.Generator().manual_seed(window * 10 + int(fraction * 10))
    for rows, cols in [(7, 11), (30, 25), (1, 5)]:
        scores = torch.randn(rows, cols, generator=g)
        scores[0, :3] = scores[-1, -1]  # ties are broken by position in both
        kept = greedy_non_overlapping(scores, window, fraction).tolist()
        assert [tuple(k) for k in kept] == brute_force_pop(scores, window, fraction)


def test_windows_are_every_w_shot_block_at_stride_one() -> None:
    a = torch.arange(30.0).view(5, 6)
    b = window_adjacency(a, 3)
    assert b.shape == (3, 4)
    assert float(b[1, 2]) == pytest.approx(float(a[1:4, 2:5].mean()))
    assert window_adjacency(a[:2], 3).shape == (1, 4)  # a 2-shot movie is one scene


def test_selection_uses_whole_movies_and_never_reuses_a_shot() -> None:
    net = small_net()  # trained on 32-shot movies; selection sees every shot
    g = torch.Generator().manual_seed(1)
    feats = {
        "a": torch.randn(45, 8, generator=g),
        "b": torch.randn(38, 8, generator=g),
        "c": torch.randn(3, 8, generator=g),
    }
    table = select_scene_pairs(net, feats, [("a", "b"), ("b", "a"), ("a", "c")], window=4)
    assert table.schema == P_SCENE
    rows = table.to_pylist()
    ab = [r for r in rows if (r["movie_a"], r["movie_b"]) == ("a", "b")]
    ac = [r for r in rows if (r["movie_a"], r["movie_b"]) == ("a", "c")]
    assert not [r for r in rows if r["movie_a"] == "b"]  # (b, a) is the same movie pair
    for movie, key in (("a", "a_start"), ("b", "b_start")):
        shots = [s for r in ab for s in range(r[key], r[key] + 4)]
        assert len(shots) == len(set(shots))  # no shot in two selected scenes of a movie
        assert max(shots) < len(feats[movie])
    assert 1 <= len(ab) <= 38 // 4  # at most ⌊N / w⌋ scenes of the shorter movie
    b = scene_adjacency(net, feats["a"], feats["b"], window=4)
    assert b.shape == (42, 35)
    assert ab[0]["score"] == pytest.approx(float(b.max()))  # the best pair is popped first
    assert [r["score"] for r in ab] == sorted((r["score"] for r in ab), reverse=True)
    assert max(r["a_end"] for r in ab) > 32  # shots past the network's 32 are scenes too
    assert len(ac) == 1 and (ac[0]["b_start"], ac[0]["b_end"]) == (0, 3)  # c: one short scene


def test_learned_space_is_e_learnable_before_its_last_layer() -> None:
    net = small_net()
    x, y = torch.randn(6, 8), torch.randn(5, 8)
    first = net.e_learnable[0]
    h1 = F.normalize(torch.relu(first(x)), dim=-1)
    h2 = F.normalize(torch.relu(first(y)), dim=-1)
    expected = F.avg_pool2d((h1 @ h2.T)[None, None], 4, stride=1)[0, 0]
    assert torch.allclose(scene_adjacency(net, x, y, window=4), expected, atol=1e-6)


def test_plain_top_fraction_keeps_every_candidate() -> None:
    net = small_net()
    feats = {"a": torch.randn(10, 8), "b": torch.randn(7, 8)}
    every = select_scene_pairs(net, feats, [("a", "b")], window=4, fraction=1.0, greedy=False)
    assert every.num_rows == 7 * 4  # (10 − 4 + 1) × (7 − 4 + 1) window pairs


def test_fixed_space_selects_by_cosine_of_e_fixed() -> None:
    net = small_net()
    x = torch.randn(8, 8)
    y = torch.cat([x[4:8], torch.randn(4, 8)])  # shots 4-7 of x reappear as shots 0-3 of y
    b = scene_adjacency(net, x, y, space="fixed", window=4)
    assert b.shape == (5, 5)
    assert divmod(int(b.argmax()), 5) == (4, 0)
    table = select_scene_pairs(net, {"x": x, "y": y}, [("x", "y")], window=4, space="fixed")
    best = table.to_pylist()[0]
    assert (best["a_start"], best["b_start"], best["space"]) == (4, 0, "fixed")


def test_select_pairs_streams_the_same_table_to_parquet(tmp_path: Path) -> None:
    net = small_net()
    g = torch.Generator().manual_seed(2)
    feats = {m: torch.randn(n, 8, generator=g) for m, n in (("a", 20), ("b", 14), ("c", 9))}
    save_checkpoint(tmp_path / "sim" / "last", net, "shot_adjacency", NET_KWARGS)
    similar = [("a", "b"), ("b", "c"), ("a", "c")]
    write_table(tmp_path / "sim" / "pairs.parquet", pa.table(dict(zip(
        ("movie_a", "movie_b"), zip(*similar, strict=True), strict=True
    ))))  # fmt: skip
    _write_shots(tmp_path / "shots.parquet", feats)
    out = tmp_path / "p_scene.parquet"
    summary = select_pairs(tmp_path / "sim", tmp_path / "shots.parquet", out, window=4)
    written = read_table(out)
    expected = select_scene_pairs(net, feats, similar, window=4)
    assert written.equals(expected)
    assert (summary.num_rows, summary.movie_pairs) == (expected.num_rows, 3)


def test_movie_features_orders_shots() -> None:
    table = pa.table(
        {
            "movie_id": ["m", "m", "n"],
            "shot_index": [1, 0, 0],
            "feature": embedding_array(torch.eye(3).numpy()),
        }
    )
    feats = movie_features(table)
    assert feats["m"].tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]


def test_select_pairs_reads_an_unsorted_multi_group_table_per_movie(tmp_path: Path) -> None:
    net = small_net()
    g = torch.Generator().manual_seed(3)
    lengths = {"a": 20, "b": 14, "c": 9, "d": 11}
    feats = {m: torch.randn(n, 8, generator=g) for m, n in lengths.items()}
    save_checkpoint(tmp_path / "sim" / "last", net, "shot_adjacency", NET_KWARGS)
    similar = [("a", "b"), ("b", "c"), ("a", "c"), ("d", "a"), ("b", "a")]
    write_table(tmp_path / "sim" / "pairs.parquet", pa.table(dict(zip(
        ("movie_a", "movie_b"), zip(*similar, strict=True), strict=True
    ))))  # fmt: skip
    rows = [(m, i) for m, n in lengths.items() for i in range(n)]
    order = torch.randperm(len(rows), generator=g).tolist()  # rows in no order at all
    x = torch.stack([feats[rows[k][0]][rows[k][1]] for k in order])
    shot_table = pa.table({
        "movie_id": [rows[k][0] for k in order],
        "shot_index": [rows[k][1] for k in order],
        "feature": embedding_array(x.numpy()),
    })  # fmt: skip
    pq.write_table(shot_table, tmp_path / "shots.parquet", row_group_size=7)
    out = tmp_path / "p_scene.parquet"
    summary = select_pairs(tmp_path / "sim", tmp_path / "shots.parquet", out, window=4)
    expected = select_scene_pairs(net, movie_features(shot_table), similar, window=4)
    assert read_table(out).equals(expected)
    assert summary.movie_pairs == 4


def test_selection_keeps_a_bounded_number_of_embedded_movies(tmp_path: Path) -> None:
    net = small_net()
    g = torch.Generator().manual_seed(4)
    movies = [f"m{i:02d}" for i in range(2 * EMBEDDED_MOVIES + 3)]
    feats = {m: torch.randn(6 + i, 8, generator=g) for i, m in enumerate(movies)}
    similar = [(a, b) for i, a in enumerate(movies) for b in movies[i + 1 : i + 4]]
    similar += [(movies[-1], movies[0])]  # the first movie again, long after it was dropped
    _write_shots(tmp_path / "shots.parquet", feats)
    store = ShotFeatureStore(tmp_path / "shots.parquet", cache_size=2)
    through_store = list(iter_scene_pairs(net, store, similar, window=4))
    in_memory = list(iter_scene_pairs(net, feats, similar, window=4))
    assert len(through_store) == len(set(map(frozenset, similar)))
    assert all(a.equals(b) for a, b in zip(through_store, in_memory, strict=True))
    assert len(store._cache) <= 2


def test_select_pairs_rejects_features_of_another_size(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "sim" / "last", small_net(), "shot_adjacency", NET_KWARGS)
    write_table(tmp_path / "sim" / "pairs.parquet", pa.table({"movie_a": ["a"], "movie_b": ["b"]}))
    shot_table = pa.table({"movie_id": ["a", "b"], "shot_index": [0, 0],
                           "feature": embedding_array(torch.zeros(2, 5).numpy())})  # fmt: skip
    write_table(tmp_path / "shots.parquet", shot_table)
    with pytest.raises(UserError, match="features of size 5, the network takes 8"):
        select_pairs(tmp_path / "sim", tmp_path / "shots.parquet", tmp_path / "p.parquet")

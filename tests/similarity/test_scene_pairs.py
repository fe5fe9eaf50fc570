import pyarrow as pa
import pytest
import torch

from movierep.models.shot_adjacency import ShotAdjacencyNet
from movierep.similarity.scene_pairs import (
    P_SCENE,
    movie_features,
    scene_adjacency,
    select_scene_pairs,
    top_fraction,
)
from movierep.tables import embedding_array


def small_net() -> ShotAdjacencyNet:
    torch.manual_seed(0)
    return ShotAdjacencyNet(
        input_dim=8,
        hidden_dim=16,
        num_shots=32,
        scene_kernel=4,
        scene_stride=2,
        pool_kernel=4,
        pool_stride=2,
    ).eval()


def test_top_fraction_picks_exactly_the_best_half() -> None:
    scores = torch.tensor([[0.1, 0.9, 0.3], [0.7, 0.2, 0.8]])
    chosen = top_fraction(scores, 0.5)
    assert chosen.tolist() == [1, 5, 3]  # 0.9, 0.8, 0.7
    kept = scores.flatten()[chosen]
    dropped = scores.flatten()[[i for i in range(6) if i not in chosen.tolist()]]
    assert kept.min() > dropped.max()
    assert len(top_fraction(torch.tensor([[1.0]]), 0.5)) == 1  # never empty


def test_selection_keeps_the_top_half_of_every_movie_pair() -> None:
    net = small_net()
    g = torch.Generator().manual_seed(1)
    feats = {
        "a": torch.randn(12, 8, generator=g),
        "b": torch.randn(9, 8, generator=g),
        "c": torch.randn(3, 8, generator=g),
    }
    table = select_scene_pairs(net, feats, [("a", "b"), ("b", "a"), ("a", "c")])
    assert table.schema == P_SCENE
    rows = table.to_pylist()
    ab = [r for r in rows if (r["movie_a"], r["movie_b"]) == ("a", "b")]
    ac = [r for r in rows if (r["movie_a"], r["movie_b"]) == ("a", "c")]
    assert not [r for r in rows if r["movie_a"] == "b"]  # (b, a) is the same movie pair
    # a: 12 shots -> 5 scenes, b: 9 shots -> 3 scenes: 15 scene pairs, 7 kept
    b = scene_adjacency(net, feats["a"], feats["b"])
    assert b.shape == (5, 3) and len(ab) == 7
    assert [r["score"] for r in ab] == pytest.approx(sorted(b.flatten().tolist(), reverse=True)[:7])
    assert min(r["score"] for r in ab) >= sorted(b.flatten().tolist(), reverse=True)[7]
    for r in ab:
        assert r["a_end"] - r["a_start"] == 4 and r["a_end"] <= 12 and r["b_end"] <= 9
    assert len(ac) == 2 and all(
        (r["b_start"], r["b_end"]) == (0, 3) for r in ac
    )  # c: one short scene


def test_fixed_space_selects_by_cosine_of_e_fixed() -> None:
    net = small_net()
    x = torch.randn(8, 8)
    y = torch.cat([x[4:8], torch.randn(4, 8)])  # shots 4-7 of x reappear as shots 0-3 of y
    b = scene_adjacency(net, x, y, space="fixed")
    assert b.shape == (3, 3)
    i, j = divmod(int(b.argmax()), 3)
    assert (i, j) == (2, 0)
    table = select_scene_pairs(net, {"x": x, "y": y}, [("x", "y")], fraction=0.2, space="fixed")
    best = table.to_pylist()[0]
    assert (best["a_start"], best["b_start"], best["space"]) == (4, 0, "fixed")


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

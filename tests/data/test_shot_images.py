import pytest
import torch

from movierep.data.movie_pair_data import MoviePairDataset, pad_shots
from movierep.data.shot_images import scene_shots
from movierep.errors import UserError


@pytest.mark.parametrize(
    ("start", "end", "length", "num", "offset", "expected"),
    [
        (0, 16, 9, 40, 0, list(range(0, 9))),
        (0, 16, 9, 40, 7, list(range(7, 16))),
        (0, 16, 9, 40, None, list(range(3, 12))),
        (10, 14, 9, 40, None, list(range(8, 17))),  # short window grows around its centre
        (0, 4, 9, 6, None, [0, 1, 2, 3, 4, 5, 5, 5, 5]),  # short movie repeats its last shot
    ],
)
def test_scene_shots(
    start: int, end: int, length: int, num: int, offset: int | None, expected: list[int]
) -> None:
    assert scene_shots(start, end, length, num, offset) == expected


def test_pad_shots() -> None:
    x, n = pad_shots(torch.ones(3, 2), 5)
    assert n == 3 and x.shape == (5, 2) and x[3:].abs().sum() == 0
    x, n = pad_shots(torch.ones(7, 2), 5)
    assert n == 5 and x.shape == (5, 2)


def test_movie_pairs_dataset_balances_and_never_draws_a_similar_negative() -> None:
    feats = {m: torch.randn(i + 2, 4) for i, m in enumerate("abcdef")}
    similar = [("a", "b"), ("b", "c"), ("d", "e")]
    data = MoviePairDataset(feats, similar, num_shots=8)
    assert len(data) == 6
    assert [int(data[i]["label"]) for i in range(3)] == [1, 1, 1]
    sim = {frozenset(p) for p in similar}
    torch.manual_seed(0)
    for _ in range(50):
        item = data[4]
        assert int(item["label"]) == 0 and item["x1"].shape == (8, 4)
    assert int(data[0]["len1"]) == 2 and int(data[0]["len2"]) == 3
    for _ in range(20):
        a, b = data._negative()
        assert a != b and frozenset((a, b)) not in sim


def test_movie_pairs_dataset_needs_pairs_with_features() -> None:
    with pytest.raises(UserError):
        MoviePairDataset({"a": torch.zeros(2, 3)}, [("a", "z")], num_shots=4)

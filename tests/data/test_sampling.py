"""Seeded, sharded, resumable sampling: order and per-item seeds are functions of (seed, epoch)."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import Dataset

from movierep.data.sampling import SeededItems, SeededSampler, item_seeds, seeded_loader
from movierep.errors import UserError


def test_epoch_order_is_a_permutation_fixed_by_seed_and_epoch() -> None:
    a = SeededSampler(10, seed=3, rank=0, world_size=1)
    first = [i for i, _ in a]
    assert sorted(first) == list(range(10))
    assert [i for i, _ in a] == first  # same epoch, same order
    a.set_epoch(1)
    assert [i for i, _ in a] != first
    b = SeededSampler(10, seed=3, rank=0, world_size=1)
    b.set_epoch(1)
    assert list(b) == list(a)


def test_ranks_share_an_epoch_without_overlap_and_equally() -> None:
    shares = [list(SeededSampler(11, seed=0, rank=r, world_size=3)) for r in range(3)]
    indices = [i for share in shares for i, _ in share]
    assert [len(s) for s in shares] == [3, 3, 3]  # 11 cut to 9: every rank gets as many
    assert len(set(indices)) == 9
    assert all(len(SeededSampler(11, seed=0, rank=r, world_size=3)) == 3 for r in range(3))


def test_skip_resumes_inside_an_epoch_once() -> None:
    s = SeededSampler(8, seed=1, rank=0, world_size=1)
    s.set_epoch(2)
    full = list(s)
    s.skip(5)
    assert len(s) == 3
    assert list(s) == full[5:]  # the same keys, seeds included
    assert list(s) == full  # the skip applied once


def test_item_seeds_differ_across_items_epochs_and_ranks() -> None:
    seeds = item_seeds(0, 0, 0, 100) + item_seeds(0, 1, 0, 100) + item_seeds(0, 0, 1, 100)
    assert len(set(seeds)) == 300
    assert all(0 <= s < 2**63 for s in seeds)
    assert item_seeds(0, 0, 0, 5) == item_seeds(0, 0, 0, 5)


class Noise(Dataset[torch.Tensor]):
    def __len__(self) -> int:
        return 6

    def __getitem__(self, i: int) -> torch.Tensor:
        return torch.rand(2) + i  # draws from torch's global RNG


def test_items_draw_from_their_seed_and_leave_the_callers_rng_alone() -> None:
    items = SeededItems(Noise())
    torch.manual_seed(0)
    before = torch.get_rng_state()
    x = items[(4, 123)]
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.equal(items[(4, 123)], x)
    assert not torch.equal(items[(4, 124)], x)


def test_loader_batches_repeat_exactly_whatever_the_workers() -> None:
    def batches(workers: int) -> list[torch.Tensor]:
        loader = seeded_loader(Noise(), batch_size=2, seed=5, num_workers=workers)
        loader.sampler.set_epoch(1)  # type: ignore[attr-defined]
        return list(loader)

    zero, two = batches(0), batches(2)
    assert len(zero) == 3
    assert all(torch.equal(a, b) for a, b in zip(zero, two, strict=True))


def test_same_video_runs_fill_batches_and_pool_the_leftovers() -> None:
    # 3 movies of 9, 6 and 5 spans and 4 one-span clips; runs of k = 4
    groups = ["a"] * 9 + ["b"] * 6 + ["c"] * 5 + ["k1", "k2", "k3", "k4"]
    sampler = SeededSampler(len(groups), seed=3, groups=groups, group_size=4)
    keys = list(sampler)
    items = [i for i, _ in keys]
    # whole runs: a 2, b 1, c 1; leftovers 1 + 2 + 1 + 4 = 8 -> 2 mixed runs
    assert len(items) == len(sampler) == 4 * (2 + 1 + 1 + 2)
    assert len(set(items)) == len(items)
    runs = [items[j : j + 4] for j in range(0, len(items), 4)]
    same = [r for r in runs if len({groups[i] for i in r}) == 1]
    assert sorted(groups[r[0]] for r in same) == ["a", "a", "b", "c"]
    assert items != [i for i, _ in SeededSampler(len(groups), seed=4, groups=groups, group_size=4)]
    sampler.set_epoch(1)
    assert [i for i, _ in sampler] != items
    # two ranks take disjoint halves of the runs
    shares = [
        [i for i, _ in SeededSampler(len(groups), seed=3, rank=r, world_size=2, groups=groups,
                                     group_size=4)]
        for r in range(2)
    ]  # fmt: skip
    assert len(shares[0]) == len(shares[1]) == 12
    assert not set(shares[0]) & set(shares[1])


def test_grouped_loader_needs_batches_of_whole_runs() -> None:
    class Items(Dataset[int]):
        def __len__(self) -> int:
            return 12

        def __getitem__(self, i: int) -> int:
            return i

    groups = [i // 6 for i in range(12)]
    loader = seeded_loader(Items(), batch_size=6, groups=groups, group_size=3)
    for batch in loader:
        firsts, seconds = batch[:3], batch[3:]
        assert len({int(i) // 6 for i in firsts}) == 1
        assert len({int(i) // 6 for i in seconds}) == 1
    with pytest.raises(UserError, match="multiple of the same-video run"):
        seeded_loader(Items(), batch_size=4, groups=groups, group_size=3)

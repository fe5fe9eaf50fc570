"""Training order and per-item randomness that a resumed run reproduces exactly.

A resumed run must see the same batches, with the same augmentations, as an
uninterrupted one. Two things break that in a plain ``DataLoader``: the shuffling order
of an epoch depends on the global RNG at the moment the epoch starts, and each worker's
augmentation draws depend on everything that worker drew before (workers persist across
epochs), which no checkpoint can capture. Here both are functions of numbers the loop
saves:

- :class:`SeededSampler` orders epoch ``e`` by a permutation drawn from ``seed + e`` (as
  ``DistributedSampler`` does), shards it over ranks, and hands every item its own seed,
  ``SeedSequence([seed, e, position])``: the item's position in the epoch, not the worker
  that happens to load it, decides its random draws. ``skip(n)`` drops the first ``n``
  items of the next epoch, so a run resumed mid-epoch continues with the very next batch
  without loading the ones before it.
- :class:`SeededItems` wraps a map-style dataset: it loads item ``(i, seed)`` with
  torch's global CPU RNG seeded by ``seed`` and restores the caller's RNG afterwards
  (about 4 µs per item), so a
  dataset that draws from ``torch.rand`` & co. needs no change, and in a single process
  the training step's RNG stream (dropout, masks) is untouched by data loading.

:func:`seeded_loader` builds the drop-last loader of both; every recipe trains through it.

**Same-video batches** (``group_size`` k > 1): each batch is made of runs of k items of
one group (one movie), so a contrastive batch holds k spans of every movie it draws
from and appearance alone no longer tells a positive from the negatives. This is the
intra-video negative of TCLR's local-local loss (Dave et al., CVIU 2022, §3.2:
non-overlapping clips of the same video are negatives) applied to CVRL's in-batch
InfoNCE. Items left over after cutting each group into runs of k are pooled into mixed
runs, so short videos (one-span action clips) still train.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence, Sized
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from movierep import dist
from movierep.errors import UserError

#: An item key: (index into the dataset, the item's seed).
Key = tuple[int, int]


def item_seeds(seed: int, epoch: int, rank: int, count: int) -> list[int]:
    """``count`` independent 63-bit seeds for the items of ``(seed, epoch, rank)``.

    NumPy's ``SeedSequence`` hashes the entropy words so that nearby inputs give
    unrelated seeds (O'Neill's PCG seeding scheme).
    """
    words = np.random.SeedSequence([seed, epoch, rank]).generate_state(count, dtype=np.uint64)
    return [int(w >> np.uint64(1)) for w in words]


class SeededSampler(Sampler[Key]):
    """Shuffle, shard over ranks and seed every item; resumable at any position.

    Args:
        size: number of items in the dataset.
        seed: the run's seed.
        rank: this process's rank (default: :func:`movierep.dist.rank`).
        world_size: number of processes (default: :func:`movierep.dist.world_size`).
        shuffle: permute the items each epoch (else keep their order).

        groups: (size,) group of every item (e.g. its movie), for same-video runs.
        group_size: k, the length of a run of one group's items (1: plain shuffling).

    Each rank takes every ``world_size``-th item (run, when k > 1) of the epoch's
    permutation, after the permutation is cut to a multiple of ``world_size`` so every rank
    gets as many items.
    """

    def __init__(
        self,
        size: int,
        *,
        seed: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
        shuffle: bool = True,
        groups: Sequence[Hashable] | None = None,
        group_size: int = 1,
    ) -> None:
        if group_size < 1:
            raise UserError(f"group_size must be at least 1, got {group_size}")
        if group_size > 1 and (groups is None or len(groups) != size):
            raise UserError(f"group_size {group_size} needs a group for each of the {size} items")
        self.size = size
        self.seed = seed
        self.group_size = group_size
        self._groups: list[list[int]] = []
        if groups is not None and group_size > 1:
            members: dict[Hashable, list[int]] = {}
            for i, g in enumerate(groups):
                members.setdefault(g, []).append(i)
            self._groups = list(members.values())
        self.rank = dist.rank() if rank is None else rank
        self.world_size = dist.world_size() if world_size is None else world_size
        self.shuffle = shuffle
        self.epoch = 0
        self._skip = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order the next iteration yields."""
        self.epoch = epoch

    def skip(self, count: int) -> None:
        """Leave out the first ``count`` items (of this rank) of the next iteration only."""
        self._skip = count

    def _runs(self, g: torch.Generator) -> list[list[int]]:
        """The epoch's runs of ``group_size`` items: one group each, then mixed leftovers."""
        k = self.group_size
        runs, leftover = [], []
        for members in self._groups:
            order = [members[j] for j in torch.randperm(len(members), generator=g).tolist()]
            full = len(order) - len(order) % k
            runs += [order[j : j + k] for j in range(0, full, k)]
            leftover += order[full:]
        leftover = [leftover[j] for j in torch.randperm(len(leftover), generator=g).tolist()]
        runs += [leftover[j : j + k] for j in range(0, len(leftover) - len(leftover) % k, k)]
        return [runs[j] for j in torch.randperm(len(runs), generator=g).tolist()]

    def _num_runs(self) -> int:
        k = self.group_size
        return sum(len(m) // k for m in self._groups) + sum(len(m) % k for m in self._groups) // k

    def _share(self) -> list[int]:
        if self._groups:
            runs = self._runs(torch.Generator().manual_seed(self.seed + self.epoch))
            usable = len(runs) - len(runs) % self.world_size
            return [i for run in runs[self.rank : usable : self.world_size] for i in run]
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.size, generator=g).tolist()
        else:
            order = list(range(self.size))
        usable = len(order) - len(order) % self.world_size
        return order[self.rank : usable : self.world_size]

    def __iter__(self) -> Iterator[Key]:
        share = self._share()
        seeds = item_seeds(self.seed, self.epoch, self.rank, len(share))
        start, self._skip = self._skip, 0
        return iter(list(zip(share, seeds, strict=True))[start:])

    def __len__(self) -> int:
        if self._groups:
            return max(0, self._num_runs() // self.world_size * self.group_size - self._skip)
        return max(0, (self.size - self.size % self.world_size) // self.world_size - self._skip)


class SeededItems(Dataset[Any]):
    """A map-style dataset indexed by ``(index, seed)`` keys of :class:`SeededSampler`.

    ``dataset[index]`` runs with torch's global RNG seeded by ``seed``; the RNG state of the
    caller is restored afterwards (the CPU generator: datasets run on the CPU).
    """

    def __init__(self, dataset: Dataset[Any]) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        assert isinstance(self.dataset, Sized)
        return len(self.dataset)

    def __getitem__(self, key: Key) -> Any:
        index, seed = key
        cpu = torch.default_generator
        state = cpu.get_state()
        # the CPU generator alone: ``torch.manual_seed`` also reseeds every accelerator's
        # generators, 100x the cost, for nothing a CPU data pipeline draws from
        cpu.manual_seed(seed)
        try:
            return self.dataset[index]
        finally:
            cpu.set_state(state)


def seeded_loader(
    dataset: Dataset[Any],
    *,
    batch_size: int,
    seed: int = 0,
    num_workers: int = 0,
    name: str = "data",
    groups: Sequence[Hashable] | None = None,
    group_size: int = 1,
    collate_fn: Callable[[list[Any]], Any] | None = None,
) -> DataLoader[Any]:
    """A shuffling, drop-last, rank-sharded loader whose order and draws a resume reproduces.

    Dropping the last short batch keeps every contrastive batch the same size (and the
    number of negatives fixed), and every rank's batch count equal (DDP collectives stay
    in step). ``batch_size`` is per process; ``collate_fn`` stacks items (default:
    torch's). With ``group_size`` k > 1 every batch is ``batch_size / k`` runs of k items
    of one group (:class:`SeededSampler`).

    Raises:
        UserError: when the data hold fewer items than one global batch.
    """
    assert isinstance(dataset, Sized)
    size = len(dataset)
    world = dist.world_size()
    if size < batch_size * world:
        raise UserError(
            f"{name}: {size} items but the global batch is {batch_size * world}; "
            "use a smaller train.batch_size or more data"
        )
    if batch_size % group_size:
        raise UserError(
            f"{name}: train.batch_size {batch_size} is not a multiple of the same-video run "
            f"length {group_size}"
        )
    return DataLoader(
        SeededItems(dataset),
        batch_size=batch_size,
        sampler=SeededSampler(size, seed=seed, groups=groups, group_size=group_size),
        # the loader draws each iterator's worker base seed from this generator, not from
        # the global RNG, which would shift the training step's stream on a resume
        generator=torch.Generator().manual_seed(seed),
        num_workers=num_workers,
        collate_fn=collate_fn,
        drop_last=True,
        persistent_workers=num_workers > 0,
    )

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
"""

from __future__ import annotations

from collections.abc import Iterator, Sized
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

    Each rank takes every ``world_size``-th item of the epoch's permutation, after the
    permutation is cut to a multiple of ``world_size`` so every rank gets as many items.
    """

    def __init__(
        self,
        size: int,
        *,
        seed: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
        shuffle: bool = True,
    ) -> None:
        self.size = size
        self.seed = seed
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

    def _share(self) -> list[int]:
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
) -> DataLoader[Any]:
    """A shuffling, drop-last, rank-sharded loader whose order and draws a resume reproduces.

    Dropping the last short batch keeps every contrastive batch the same size (and the
    number of negatives fixed), and every rank's batch count equal (DDP collectives stay
    in step). ``batch_size`` is per process.

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
    return DataLoader(
        SeededItems(dataset),
        batch_size=batch_size,
        sampler=SeededSampler(size, seed=seed),
        # the loader draws each iterator's worker base seed from this generator, not from
        # the global RNG, which would shift the training step's stream on a resume
        generator=torch.Generator().manual_seed(seed),
        num_workers=num_workers,
        drop_last=True,
        persistent_workers=num_workers > 0,
    )

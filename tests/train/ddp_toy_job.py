"""A small DDP job for tests: ``torchrun --nproc_per_node 2 ddp_toy_job.py OUT``.

Trains a toy contrastive objective through :func:`movierep.train.loop.fit` (gathered
NT-Xent + a FeatureQueue) on rank-sharded data, then writes each rank's final weights
and queue to ``OUT/rank<r>.safetensors`` so the test can check they are identical.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from movierep import dist
from movierep.losses.infonce import info_nce, nt_xent
from movierep.losses.queue import FeatureQueue
from movierep.train.loop import TrainConfig, fit, seed_everything


class ToyObjective(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
        self.queue = FeatureQueue(32, 4)

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x = batch["x"]
        z1 = self.encoder(x + 0.1 * torch.randn_like(x))
        z2 = self.encoder(x + 0.1 * torch.randn_like(x))
        loss = nt_xent(z1, z2, temperature=0.2, gather_distributed=True)
        loss = loss + info_nce(z1, z2, self.queue.negatives(), in_batch=False)
        self.queue.enqueue(z2)
        return {"loss": loss}


class Batches:
    def __init__(self, loader: DataLoader[Any]) -> None:
        self.loader = loader

    def set_epoch(self, epoch: int) -> None:
        sampler = self.loader.sampler
        assert isinstance(sampler, DistributedSampler)
        sampler.set_epoch(epoch)

    def __iter__(self):  # type: ignore[no-untyped-def]
        for (x,) in self.loader:
            yield {"x": x}


def main() -> None:
    out = Path(sys.argv[1])
    dist.init_from_env()
    seed_everything(0)
    data = TensorDataset(torch.randn(64, 8, generator=torch.Generator().manual_seed(1)))
    sampler = DistributedSampler(data, num_replicas=dist.world_size(), rank=dist.rank(), seed=0)
    loader = DataLoader(data, batch_size=8, sampler=sampler, drop_last=True)
    objective = ToyObjective()
    torch.manual_seed(100 + dist.rank())  # different augmentation noise on each rank
    cfg = TrainConfig(steps=6, batch_size=8, lr=0.05, optimizer="sgd", ckpt_every=4, log_every=2)
    fit(
        objective,
        Batches(loader),
        cfg,
        out / "run",
        export=lambda: (objective.encoder, "toy", {}),
    )
    state = {k: v.contiguous() for k, v in objective.state_dict().items()}
    save_file(state, str(out / f"rank{dist.rank()}.safetensors"))
    dist.barrier()
    dist.destroy()


if __name__ == "__main__":
    main()

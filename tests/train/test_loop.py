"""The training loop: seeded reproducibility, exact resume, NaN stop, metrics and summary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import nn

from movierep.models import factory, load_pretrained
from movierep.train.loop import TrainConfig, fit, seed_everything


class Regress(nn.Module):
    """Objective: fit y = 2x with a noisy batch sampled from the global RNG."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Linear(4, 1)

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x = batch["x"] + 0.01 * torch.randn_like(batch["x"])
        loss = ((self.net(x) - 2 * x.sum(1, keepdim=True)) ** 2).mean()
        return {"loss": loss, "scale": batch["x"].abs().mean()}


class Data:
    def __init__(self, crash_after: int | None = None) -> None:
        self.epoch = 0
        self.crash_after = crash_after
        self.served = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        g = torch.Generator().manual_seed(self.epoch)
        for _ in range(3):
            if self.served == self.crash_after:
                raise RuntimeError("simulated crash")
            self.served += 1
            yield {"x": torch.randn(8, 4, generator=g)}


@dataclass(frozen=True)
class RegressNetConfig:
    dim: int = 4


class RegressNet(nn.Linear):
    """The exported ``Regress.net``, rebuilt from its config by ``load_pretrained``."""

    def __init__(self, cfg: RegressNetConfig = RegressNetConfig()) -> None:
        super().__init__(cfg.dim, 1)


@pytest.fixture(autouse=True)
def _register(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = factory.ModelSpec(RegressNet, RegressNetConfig())
    monkeypatch.setitem(factory.MODELS, "regress_net", spec)


def _run(out: Path, steps: int, ckpt_every: int = 100) -> list[float]:
    seed_everything(3)
    obj = Regress()
    cfg = TrainConfig(
        steps=steps,
        batch_size=8,
        lr=0.1,
        optimizer="adamw",
        log_every=1,
        ckpt_every=ckpt_every,
        warmup_steps=2,
    )
    fit(obj, Data(), cfg, out, export=lambda: (obj.net, "regress_net", {}))
    return [r["loss"] for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines())]


def test_same_seed_same_loss_curve_and_learning(tmp_path: Path) -> None:
    a = _run(tmp_path / "a", 12)
    b = _run(tmp_path / "b", 12)
    assert a == b and len(a) == 12
    assert a[-1] < 0.5 * a[0]
    summary = (tmp_path / "a" / "summary.md").read_text()
    assert "global batch | 8" in summary
    net = load_pretrained(tmp_path / "a" / "last")
    assert isinstance(net, nn.Linear)


@pytest.mark.parametrize(
    ("ckpt_every", "crash_after"),
    [(3, 7), (2, 5)],  # last checkpoint at an epoch's end (step 6) / inside an epoch (step 4)
)
def test_resume_after_a_crash_continues_the_exact_curve(
    tmp_path: Path, ckpt_every: int, crash_after: int
) -> None:
    full = _run(tmp_path / "full", 9)
    cfg = TrainConfig(
        steps=9, batch_size=8, lr=0.1, log_every=1, warmup_steps=2, ckpt_every=ckpt_every
    )
    seed_everything(3)
    obj = Regress()
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(
            obj,
            Data(crash_after=crash_after),
            cfg,
            tmp_path / "part",
            export=lambda: (obj.net, "regress_net", {}),
        )
    logged = (tmp_path / "part" / "metrics.jsonl").read_text().splitlines()
    assert len(logged) == crash_after  # the dead run logged past its last checkpoint
    seed_everything(99)  # a restart in a new process: nothing but the checkpoint carries over
    obj = Regress()
    fit(obj, Data(), cfg, tmp_path / "part", export=lambda: (obj.net, "regress_net", {}))
    lines = (tmp_path / "part" / "metrics.jsonl").read_text().splitlines()
    # the records after the checkpoint are dropped and logged again: one curve, no seam
    assert [json.loads(x)["loss"] for x in lines] == full
    ref = load_pretrained(tmp_path / "full" / "last")
    got = load_pretrained(tmp_path / "part" / "last")
    assert isinstance(ref, nn.Linear) and isinstance(got, nn.Linear)
    assert torch.equal(ref.weight, got.weight)


def test_non_finite_loss_stops_the_run(tmp_path: Path) -> None:
    class Bad(Regress):
        def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            return {"loss": self.net(batch["x"]).sum() * float("nan")}

    obj = Bad()
    with pytest.raises(FloatingPointError, match="step 0"):
        fit(
            obj, Data(), TrainConfig(steps=3), tmp_path, export=lambda: (obj.net, "regress_net", {})
        )

"""The head loop: its steps, its schedule, and no batch drawn past the last step."""

from __future__ import annotations

import itertools

import pytest
import torch

from movierep.tasks.heads.loop import train_head


def test_steps_follow_the_schedule_on_a_quadratic() -> None:
    w = torch.nn.Parameter(torch.zeros(()))
    drawn: list[int] = []

    def batches():  # endless targets 3, 3, ...; records what was drawn
        for k in itertools.count():
            drawn.append(k)
            yield torch.tensor(3.0)

    opt = torch.optim.SGD([w], lr=99.0)
    train_head(lambda t: (w - t) ** 2, batches(), opt, 2, [0.1, 0.2])
    # gradient 2 (w − 3): w1 = 0 + 0.1·6 = 0.6; w2 = 0.6 + 0.2·4.8 = 1.56
    assert w.item() == pytest.approx(1.56)
    assert drawn == [0, 1] and opt.param_groups[0]["lr"] == 0.2


def test_without_a_schedule_the_optimizers_rate_stays() -> None:
    w = torch.nn.Parameter(torch.ones(2))
    opt = torch.optim.SGD([w], lr=0.5)
    train_head(lambda x: (w * x).sum(), [torch.tensor([1.0, 2.0])] * 5, opt, 3)
    assert w.tolist() == pytest.approx([1 - 1.5, 1 - 3.0]) and opt.param_groups[0]["lr"] == 0.5

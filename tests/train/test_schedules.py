from __future__ import annotations

import numpy as np
import pytest

from movierep.train.schedules import (
    linear_scaled_lr,
    warmup_constant,
    warmup_cosine,
    warmup_linear,
)


def test_warmup_cosine_endpoints_and_monotone_decay() -> None:
    lr = warmup_cosine(1.0, 110, warmup_steps=10, final=0.1)
    assert lr.shape == (110,)
    assert lr[0] == 0.0 and lr[5] == pytest.approx(0.5)
    assert lr[10] == pytest.approx(1.0) and lr[-1] == pytest.approx(0.1)
    assert np.all(np.diff(lr[10:]) <= 1e-12)
    assert lr[60] == pytest.approx(0.1 + 0.45 * (1 + np.cos(np.pi * 50 / 99)))


def test_constant_and_linear_scaling() -> None:
    assert warmup_constant(2.0, 4, warmup_steps=2).tolist() == [0.0, 1.0, 2.0, 2.0]
    assert linear_scaled_lr(0.3, 1024) == pytest.approx(1.2)


def test_warmup_linear_is_lvus_lambda_schedule() -> None:
    # LVU's get_linear_schedule_with_warmup as a LambdaLR steps it: (i + 1) / w, then decay
    assert warmup_linear(2.0, 6, warmup_steps=2).tolist() == [1.0, 2.0, 2.0, 1.5, 1.0, 0.5]
    assert warmup_linear(1.0, 4).tolist() == [1.0, 0.75, 0.5, 0.25]  # no warm-up
    steps, w = 37, 4
    factor = [(i + 1) / w if i < w else max(0.0, (steps - i) / (steps - w)) for i in range(steps)]
    assert warmup_linear(3e-4, steps, warmup_steps=w).tolist() == [3e-4 * f for f in factor]

"""Learning-rate and momentum schedules as pure functions of the global step.

The loop indexes these by the global step, so a resumed run continues the exact curve
(the habit of DINO's ``cosine_scheduler`` and nanoGPT's ``get_lr``).
"""

from __future__ import annotations

import math

import numpy as np


def warmup_cosine(
    base: float, steps: int, *, warmup_steps: int = 0, final: float = 0.0, start: float = 0.0
) -> np.ndarray:
    """Linear warm-up from ``start`` to ``base`` then half-cosine decay to ``final``.

    Returns:
        (steps,) float64 array; entry ``i`` is the value at step ``i``.
    """
    steps = max(int(steps), 1)
    warmup_steps = min(max(int(warmup_steps), 0), steps)
    warm = np.linspace(start, base, warmup_steps, endpoint=False)
    n = steps - warmup_steps
    t = np.arange(n) / max(n - 1, 1) if n > 1 else np.zeros(n)
    decay = final + 0.5 * (base - final) * (1.0 + np.cos(math.pi * t))
    return np.concatenate([warm, decay])


def warmup_constant(base: float, steps: int, *, warmup_steps: int = 0) -> np.ndarray:
    """Linear warm-up from 0 to ``base``, then constant. Returns (steps,)."""
    steps = max(int(steps), 1)
    warmup_steps = min(max(int(warmup_steps), 0), steps)
    return np.concatenate(
        [np.linspace(0.0, base, warmup_steps, endpoint=False), np.full(steps - warmup_steps, base)]
    )


def warmup_linear(base: float, steps: int, *, warmup_steps: int = 0) -> np.ndarray:
    """Linear warm-up to ``base``, then linear decay to 0 (LVU's fine-tuning schedule).

    Step ``i < w`` has ``base · (i + 1) / w`` (the first step already moves), step
    ``i ≥ w`` has ``base · max(0, (steps − i) / max(1, steps − w))``: Hugging Face's
    ``get_linear_schedule_with_warmup`` as LVU steps it. Returns (steps,).
    """
    steps = max(int(steps), 1)
    w = min(max(int(warmup_steps), 0), steps)
    i = np.arange(steps)
    factor = np.where(i < w, (i + 1) / max(w, 1), np.maximum(0.0, (steps - i) / max(1, steps - w)))
    out: np.ndarray = base * factor
    return out


def momentum_cosine(base: float, steps: int, final: float = 1.0) -> np.ndarray:
    """EMA momentum ramp from ``base`` to ``final`` along a half cosine (BYOL/DINO). (steps,)."""
    return warmup_cosine(base, steps, final=final)


def linear_scaled_lr(base_lr: float, global_batch: int, reference_batch: int = 256) -> float:
    """The linear scaling rule (Goyal et al. 2017): ``base_lr * global_batch / reference``."""
    return base_lr * global_batch / reference_batch

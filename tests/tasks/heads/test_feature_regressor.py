"""The frozen-feature regressor: overfits a learnable target, learns nothing from noise."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import mean_squared_error

from movierep.tasks.heads.feature_classifier import ClassifierConfig
from movierep.tasks.heads.feature_regressor import fit_regressor, predict

CFG = ClassifierConfig(hidden=(32, 32), dropout=0.0, steps=400, batch_size=32, lr=3e-3)


def test_fits_a_learnable_target_on_raw_scales() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 3.0, (64, 6)).astype(np.float32)  # far from standardised
    y = 100.0 + 20.0 * (x @ rng.normal(size=6)) / 3.0
    head = fit_regressor(x, y, CFG, seed=0)
    pred = predict(head, x)
    assert pred.shape == (64,)
    assert mean_squared_error(y, pred) < 0.05 * y.var()
    with torch.no_grad():  # predict is the module's output, on the target's scale
        np.testing.assert_allclose(pred, head(torch.as_tensor(x)).numpy(), rtol=1e-6)


def test_unrelated_targets_do_not_generalise() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(200, 6)), rng.normal(size=200)
    head = fit_regressor(x[:100], y[:100], CFG, seed=0)
    assert mean_squared_error(y[100:], predict(head, x[100:])) > 0.7 * y[100:].var()


def test_seeded_and_checked() -> None:
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(20, 3)), rng.normal(size=20)
    a = predict(fit_regressor(x, y, CFG, seed=3), x)
    np.testing.assert_array_equal(a, predict(fit_regressor(x, y, CFG, seed=3), x))
    with pytest.raises(ValueError, match="as many targets"):
        fit_regressor(x, y[:5], CFG)

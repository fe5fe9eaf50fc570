"""MLP heads trained as ensembles: each member is its seed's single run (issue 30)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from movierep.tasks.heads.ensemble import MLPEnsemble, fit_ensemble
from movierep.tasks.heads.feature_classifier import (
    ClassifierConfig,
    FeatureClassifier,
    class_scores,
    fit_classifier,
    fit_classifier_ensemble,
)
from movierep.tasks.heads.feature_regressor import (
    FeatureRegressor,
    fit_regressor,
    fit_regressor_ensemble,
    predict,
)
from movierep.tasks.protocols.movienet import (
    fit_multilabel,
    fit_multilabel_ensemble,
    multilabel_scores,
)

CFG = ClassifierConfig(hidden=(16, 12), dropout=0.3, steps=6, batch_size=10, lr=1e-2)
SEEDS = [5, 0, 11]


def _data(n: int = 60, d: int = 7, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(2.0, 3.0, (n, d)).astype(np.float32)
    labels = (x[:, 0] > 2.0).astype(np.int64) + (x[:, 1] > 2.0)
    multi = (rng.random((n, 4)) < 0.3).astype(np.int64)
    return x, labels, multi


def _states_close(a: nn.Module, b: nn.Module, atol: float = 1e-5) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        torch.testing.assert_close(sa[k], sb[k], atol=atol, rtol=1e-5, msg=k)


def test_initial_members_are_the_seeded_single_heads() -> None:
    ens = MLPEnsemble(7, 3, (16, 12), 0.3, SEEDS)
    for r, s in enumerate(SEEDS):
        torch.manual_seed(s)
        single = FeatureClassifier(7, 3, (16, 12), 0.3)
        got = ens.member_state(r)
        for k, v in single.state_dict().items():
            torch.testing.assert_close(got[k], v, atol=0, rtol=0, msg=k)  # bitwise
        torch.manual_seed(s)
        reg = FeatureRegressor(7, (16, 12), 0.3)
        one = MLPEnsemble(7, 1, (16, 12), 0.3, [s])
        torch.testing.assert_close(one.weights[0][0], reg.mlp[0].weight.T, atol=0, rtol=0)
        torch.testing.assert_close(one.biases[2][0, 0], reg.mlp[6].bias, atol=0, rtol=0)
    assert ens.weights[1].shape == (3, 16, 12) and ens.biases[1].shape == (3, 1, 12)
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    MLPEnsemble(7, 3, (16,), 0.0, SEEDS)
    assert torch.equal(torch.random.get_rng_state(), before)  # the caller's RNG is untouched


def test_classifier_members_match_their_single_runs_with_dropout() -> None:
    x, y, _ = _data()
    ens = fit_classifier_ensemble(x, y, 3, CFG, SEEDS)
    scores = class_scores(ens, x)
    assert scores.shape == (3, 60, 3)
    for r, s in enumerate(SEEDS):
        single = fit_classifier(x, y, 3, CFG, seed=s)
        _states_close(ens.member(r), single)
        np.testing.assert_allclose(scores[r], class_scores(single, x), atol=1e-5)
        np.testing.assert_allclose(class_scores(ens.member(r), x), scores[r], atol=1e-5)
    assert not np.allclose(scores[0], scores[1], atol=1e-3)  # the seeds differ


def test_multilabel_members_match_their_single_runs_with_dropout() -> None:
    x, _, y = _data(seed=1)
    ens = fit_multilabel_ensemble(x, y, CFG, SEEDS)
    scores = multilabel_scores(ens, x)
    assert scores.shape == (3, 60, 4)
    for r, s in enumerate(SEEDS):
        single = fit_multilabel(x, y, CFG, seed=s)
        _states_close(ens.member(r), single)
        np.testing.assert_allclose(scores[r], multilabel_scores(single, x), atol=1e-5)


def test_regressor_members_match_their_single_runs_with_dropout() -> None:
    x, _, _ = _data(seed=2)
    y = 50.0 + 10.0 * x[:, 0] - 3.0 * x[:, 3]
    ens = fit_regressor_ensemble(x, y, CFG, SEEDS)
    pred = predict(ens, x)
    assert pred.shape == (3, 60)
    for r, s in enumerate(SEEDS):
        single = fit_regressor(x, y, CFG, seed=s)
        _states_close(ens.member(r), single)
        np.testing.assert_allclose(pred[r], predict(single, x), rtol=1e-5, atol=1e-4)


def _reference_run(
    x: np.ndarray,
    target: Tensor,
    head: nn.Module,
    loss: Callable[[Tensor, Tensor], Tensor],
    seed: int,
    cfg: ClassifierConfig,
) -> nn.Module:
    """One seed trained by a plain loop on a plain module, written from the ensemble's spec.

    Minibatches from ``torch.Generator().manual_seed(seed)``, dropout keep masks
    ``u >= p`` (scaled by 1/(1 − p)) from ``numpy.random.default_rng(seed)``, one row of
    ΣH uniforms per example, hidden layers in order; torch's (unfused) AdamW, or plain SGD;
    ``epochs · ⌈N / batch⌉`` steps when the config counts epochs.
    """
    xt = torch.as_tensor(x)
    head.mean.copy_(xt.mean(0))
    head.std.copy_(xt.std(0))
    g, rng = torch.Generator().manual_seed(seed), np.random.default_rng(seed)
    opt: torch.optim.Optimizer
    if cfg.optimizer == "sgd":
        opt = torch.optim.SGD(
            head.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        )
    else:
        opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    linears = [m for m in head.mlp if isinstance(m, nn.Linear)]
    steps = cfg.steps if cfg.epochs is None else cfg.epochs * -(-len(xt) // cfg.batch_size)
    for _ in range(steps):
        idx = torch.randint(len(xt), (cfg.batch_size,), generator=g)
        u = rng.random((cfg.batch_size, sum(cfg.hidden)), dtype=np.float32)
        keep = torch.from_numpy(u >= cfg.dropout).float() / (1 - cfg.dropout)
        h, offset = (xt[idx] - head.mean) / head.std, 0
        for k, lin in enumerate(linears):
            h = lin(h)
            if k < len(cfg.hidden):
                width = cfg.hidden[k]
                h = F.relu(h) * keep[:, offset : offset + width]
                offset += width
        value = loss(h, target[idx])
        opt.zero_grad()
        value.backward()
        opt.step()
    return head.eval()


#: The supplement's kind of head: SGD with momentum and L2, counted in epochs (2 · ⌈60/10⌉).
SGD_CFG = ClassifierConfig(
    hidden=(16, 12), dropout=0.3, batch_size=10, lr=0.05, weight_decay=1e-3, optimizer="sgd",
    momentum=0.9, epochs=2,
)  # fmt: skip


@pytest.mark.parametrize("cfg", [CFG, SGD_CFG], ids=["adamw-steps", "sgd-epochs"])
def test_members_follow_an_independent_per_seed_loop(cfg: ClassifierConfig) -> None:
    x, y, multi = _data(seed=3)
    yt = torch.as_tensor(y)
    ens = fit_classifier_ensemble(x, y, 3, cfg, SEEDS)
    ml = fit_multilabel_ensemble(x, multi, cfg, SEEDS)
    for r, s in enumerate(SEEDS):
        torch.manual_seed(s)
        ref = _reference_run(x, yt, FeatureClassifier(7, 3, cfg.hidden), F.cross_entropy, s, cfg)
        _states_close(ens.member(r), ref, atol=2e-5)
        torch.manual_seed(s)
        head = FeatureClassifier(7, 4, cfg.hidden)
        bce = F.binary_cross_entropy_with_logits
        ref = _reference_run(x, torch.as_tensor(multi, dtype=torch.float32), head, bce, s, cfg)
        _states_close(ml.member(r), ref, atol=2e-5)


def test_epochs_count_full_passes_of_the_training_rows() -> None:
    assert SGD_CFG.num_steps(60) == 12 and SGD_CFG.num_steps(61) == 14
    assert CFG.num_steps(10_000) == CFG.steps  # a step budget ignores N
    with pytest.raises(ValueError, match="optimizer"):
        ClassifierConfig(optimizer="adam")


def test_training_moves_every_member_and_learns() -> None:
    x, y, _ = _data(n=200, seed=4)
    cfg = ClassifierConfig(hidden=(32,), dropout=0.2, steps=100, batch_size=32, lr=1e-2)
    ens = fit_classifier_ensemble(x[:150], y[:150], 3, cfg, [0, 1])
    acc = (class_scores(ens, x[150:]).argmax(-1) == y[150:]).mean(1)
    assert acc.shape == (2,) and acc.min() > 0.8  # the majority class is 52%


def test_bad_inputs() -> None:
    x, y, _ = _data()
    with pytest.raises(ValueError, match="as many"):
        fit_classifier_ensemble(x, y[:5], 3, CFG, SEEDS)
    with pytest.raises(ValueError, match="at least one seed"):
        MLPEnsemble(7, 3, (), 0.0, [])
    ens = MLPEnsemble(7, 3, (), 0.0, [0])
    with pytest.raises(ValueError, match="unknown loss"):
        fit_ensemble(
            ens, torch.as_tensor(x), torch.as_tensor(y), "hinge", steps=1, batch_size=4, lr=0.1,
            weight_decay=0.0,
        )  # fmt: skip

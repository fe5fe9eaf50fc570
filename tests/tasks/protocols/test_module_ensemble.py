"""TxD and the Object Transformer trained as vmapped ensembles: members are their solo runs.

Compared with dropout 0 (with dropout, vmap draws every member's masks from one stream).
Adam turns a gradient that is zero in exact arithmetic, and rounding noise in practice,
into a full ±lr step, so the parameters that attention makes gradient-free are left out
of the weight comparisons: the key bias of a self-attention (softmax ignores a shift
shared by all keys) and, for TxD's one-token memory, the cross-attention's query and key
projections (softmax over one key is 1). Every other parameter must agree to ~1e-5.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import Tensor, nn

import movierep.tasks.protocols.lvu_ot as lvu_ot
import movierep.tasks.protocols.lvu_spans as lvu_spans
from movierep.tasks.heads.module_ensemble import ModuleEnsemble
from movierep.tasks.protocols.role_text import RoleTokenizer
from movierep.tasks.protocols.vidsitu_srl import (
    CPU,
    role_sequences,
    run_srl_task,
    train_decoder,
    train_decoders,
)

from .test_lvu_ot import CFG as OT_CFG
from .test_lvu_ot import _classification, _events, _instances
from .test_vidsitu_tasks import make_clips

pytestmark = pytest.mark.filterwarnings("ignore:There is a performance drop")


def _free(name: str, value: Tensor, d: int, one_token_memory: bool) -> Tensor:
    """``value`` with its gradient-free slices zeroed (see the module docstring)."""
    v = value.clone()
    if name.endswith("self_attn.in_proj_bias"):
        v[d : 2 * d] = 0  # keys
    if one_token_memory and "multihead_attn.in_proj_" in name:
        v[: 2 * d] = 0  # queries and keys
    return v


def _assert_same_weights(
    a: dict[str, Tensor], b: dict[str, Tensor], d: int, lr: float, steps: int, memory1: bool
) -> None:
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(
            _free(k, a[k], d, memory1), _free(k, b[k], d, memory1), atol=1e-5, rtol=1e-5, msg=k
        )
        assert (a[k] - b[k]).abs().max() <= 2 * lr * steps + 1e-6  # even the free ones


def test_stacked_members_compute_their_own_outputs() -> None:
    members = []
    for s in (0, 1, 2):
        torch.manual_seed(s)
        members.append(nn.Sequential(nn.Linear(4, 3), nn.Tanh()))
    ens = ModuleEnsemble(members)
    x = torch.randn(3, 5, 4)
    out = ens(lambda m, v: m(v), x)
    assert out.shape == (3, 5, 3)
    for r, m in enumerate(members):
        torch.testing.assert_close(out[r], m(x[r]))
    (out**2).sum().backward()
    assert all(p.grad is not None and p.shape[0] == 3 for p in ens.parameters())
    copy = ens.member(1, nn.Sequential(nn.Linear(4, 3), nn.Tanh()))
    torch.testing.assert_close(copy[0].weight, members[1][0].weight)


def test_txd_members_match_solo_runs_with_dropout_zero() -> None:
    clips, x = make_clips(16, 1, np.random.default_rng(0))
    tok = RoleTokenizer.build(role_sequences(clips))
    cfg = dataclasses.replace(
        CPU, hidden_dim=32, num_heads=2, ffn_dim=64, output_dim=32, dropout=0.0, steps=4,
        batch_size=8,
    )  # fmt: skip
    members = train_decoders(tok, clips, x, cfg, [3, 4])
    tokens = torch.randint(1, len(tok), (6, 9))
    memory = torch.as_tensor(x[:6, :1], dtype=torch.float32)
    for model, seed in zip(members, [3, 4], strict=True):
        solo = train_decoder(tok, clips, x, cfg, seed)
        _assert_same_weights(model.state_dict(), solo.state_dict(), 32, cfg.lr, cfg.steps, True)
        with torch.no_grad():
            torch.testing.assert_close(
                model(tokens, memory), solo(tokens, memory), atol=1e-5, rtol=0
            )
    assert not torch.allclose(members[0].embed.weight, members[1].embed.weight)


def _ot_task(tmp_path: Path) -> lvu_spans.TokenTables:
    rng = np.random.default_rng(0)
    ys = rng.integers(0, 2, 24)
    _classification(tmp_path, "relationship", {"train": list(ys[:16]), "test": list(ys[16:])})
    return lvu_spans.TokenTables(_instances(ys, rng, seconds=70), _events(ys, rng, seconds=70))


def test_ot_members_match_solo_runs_with_dropout_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _ot_task(tmp_path)
    cfg = dataclasses.replace(OT_CFG, epochs=0.5)  # 5 steps; spans of 60 s out of 70 s videos
    weights: list[dict[str, Tensor]] = []

    def keep(model: nn.Module, *_args: Any) -> dict[str, Any]:
        weights.append({k: v.clone() for k, v in model.state_dict().items()})
        return {}

    monkeypatch.setattr(lvu_ot, "_scored", keep)
    lvu_ot.ot_task_runs(tmp_path, "relationship", data, cfg, [3, 4])
    for seed in (3, 4):
        lvu_ot.run_ot_task(tmp_path, "relationship", data, cfg, seed)
    for r in range(2):
        _assert_same_weights(weights[r], weights[2 + r], cfg.hidden, cfg.lr, 5, False)


def test_batched_protocols_keep_their_output(tmp_path: Path) -> None:
    data = _ot_task(tmp_path)
    cfg = dataclasses.replace(OT_CFG, epochs=0.5, dropout=0.1, batch_runs=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = lvu_ot.run_lvu_ot(
            tmp_path, data.inst, data.scene, ("relationship",), runs=2, cfg=cfg
        )["relationship"]
    assert list(res) == ["metric", "eval_split", "runs", "summary", "predictions"]
    assert res["metric"] == "top1" and len(res["runs"]) == 2 and len(res["predictions"]) == 8
    clips, x = make_clips(10, 1, np.random.default_rng(1))
    srl = dataclasses.replace(
        CPU, hidden_dim=16, num_heads=2, ffn_dim=32, output_dim=16, steps=2, batch_runs=True,
        max_new_tokens=4,
    )  # fmt: skip
    out = run_srl_task(clips, clips[:3], x, x[:3], runs=2, cfg=srl)
    assert len(out["runs"]) == 2 and set(out["summary"]) == set(out["runs"][0])
    assert [p["ann_idx"] for p in out["predictions"]] == [0, 1, 2]

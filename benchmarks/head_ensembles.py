"""Heads trained as ensembles (issue 30): time per seeded run, one at a time vs all at once.

Writes ``benchmarks/results/head_ensembles.json``. Every downstream protocol trains N seeded
runs of a small head. Before issue 30 each run trained alone (:func:`old_fit`, a faithful
copy of that loop: ``nn.Sequential`` head, ``torch.manual_seed`` + ``nn.Dropout``, per-step
``randint``, foreach AdamW); now the N runs train as one :class:`MLPEnsemble` (stacked
weights, ``baddbmm``, one fused AdamW). For each MLP head at the demo's settings, on
synthetic features:

- ``old_s_per_run``: the old loop's seconds per run (mean of 2 runs; runs are independent,
  so this does not depend on R);
- ``single_s_per_run``: today's single run (the 1-member ensemble);
- ``ensemble[R]``: one ensemble of R members, seconds / R, and the speed-up per run over
  the old loop, for R = 2, 5, 10.

Heavy heads (place tagging with batch 512, scene boundaries with 4·D inputs) are timed over
fewer steps than the demo's 200 (``steps_timed``); time per run is linear in the steps.
``train_accuracy`` (old runs vs ensemble members, on the training rows) checks that both
train equally well.

TxD and the Object Transformer (``transformer_heads``) compare their per-seed loop
(:func:`~movierep.tasks.protocols.vidsitu_srl.train_decoder`,
:func:`~movierep.tasks.protocols.lvu_ot.run_ot_task`) with the vmapped ensembles
(:func:`~movierep.tasks.protocols.vidsitu_srl.train_decoders`,
:func:`~movierep.tasks.protocols.lvu_ot.ot_task_runs`) at small sizes.

Run with one thread (the machine has 2 cores, shared while measuring)::

    python benchmarks/head_ensembles.py [--quick]
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import torch
import torch.nn.functional as F

from movierep import files
from movierep.data.benchmarks.vidsitu import VidSituClip, VidSituEvent
from movierep.tables import embedding_array
from movierep.tasks.heads.feature_classifier import (
    ClassifierConfig,
    FeatureClassifier,
    class_scores,
    fit_classifier_ensemble,
)
from movierep.tasks.protocols import lvu_ot, lvu_spans, vidsitu_srl
from movierep.tasks.protocols.role_text import RoleTokenizer

RESULTS = Path(__file__).parent / "results" / "head_ensembles.json"
RUN_COUNTS = (2, 5, 10)
TARGET = 5.0

#: name -> (head, rows N, input D, classes C, loss, steps timed). The demo's heads
#: (``movierep.demo``: head_steps=200), with the protocols' own widths and batches.
MLP_HEADS: dict[str, tuple[ClassifierConfig, int, int, int, str, int]] = {
    "lvu (512, 512)": (
        ClassifierConfig(hidden=(512, 512), dropout=0.25, steps=200, batch_size=64),
        2000, 256, 10, "cross_entropy", 200,
    ),
    "vidsitu verbs, linear": (
        ClassifierConfig(hidden=(), steps=200, batch_size=64), 2000, 256, 50, "cross_entropy", 200
    ),
    "vidsitu verbs, (1024,)": (
        ClassifierConfig(hidden=(1024,), dropout=0.5, steps=200, batch_size=64),
        2000, 256, 50, "cross_entropy", 200,
    ),
    "moderation (512, 512)": (
        ClassifierConfig(hidden=(512, 512), dropout=0.25, steps=200, batch_size=64),
        400, 256, 4, "cross_entropy", 200,
    ),
    "movienet place tagging (512, 512), batch 512": (
        ClassifierConfig(hidden=(512, 512), dropout=0.25, steps=200, batch_size=512),
        600, 256, 20, "binary_cross_entropy", 40,
    ),
    "movienet sbd (512, 512), 4·D, batch 4096": (
        ClassifierConfig(hidden=(512, 512), dropout=0.5, steps=200, batch_size=4096),
        300, 1024, 2, "cross_entropy", 20,
    ),
}  # fmt: skip


def old_fit(
    x: np.ndarray, y: np.ndarray, num_classes: int, cfg: ClassifierConfig, seed: int, loss: str
) -> FeatureClassifier:
    """The per-seed loop every head used before issue 30 (``fit_classifier``/``fit_multilabel``)."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    xt = torch.as_tensor(x, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.long if loss == "cross_entropy" else torch.float32)
    head = FeatureClassifier(xt.shape[1], num_classes, cfg.hidden, cfg.dropout)
    head.mean.copy_(xt.mean(0))
    head.std.copy_(xt.std(0).clamp_min(1e-6))
    opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    criterion = F.cross_entropy if loss == "cross_entropy" else F.binary_cross_entropy_with_logits
    head.train()
    for _ in range(cfg.steps):
        idx = torch.randint(len(xt), (min(cfg.batch_size, len(xt)),), generator=g)
        value = criterion(head(xt[idx]), yt[idx])
        opt.zero_grad()
        value.backward()
        opt.step()
    return head.eval()


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds of one call and its result."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def synthetic(n: int, d: int, c: int, loss: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian class centres plus noise: features (N, D) and labels (N,) or (N, C) 0/1."""
    rng = np.random.default_rng(seed)
    if loss == "binary_cross_entropy":
        y = (rng.random((n, c)) < 0.2).astype(np.int64)
        x = y @ rng.normal(size=(c, d)) + rng.normal(size=(n, d))
    else:
        y = rng.integers(0, c, n)
        x = rng.normal(size=(c, d))[y] + 2.0 * rng.normal(size=(n, d))
    return x.astype(np.float32), y


def train_accuracy(scores: np.ndarray, y: np.ndarray) -> float:
    """Top-1 on the training rows (classification), or mean per-label accuracy (multi-label)."""
    if y.ndim == 2:
        return float(((scores > 0.5) == y).mean())
    return float((scores.argmax(-1) == y).mean())


def bench_mlp(name: str, quick: bool) -> dict[str, Any]:
    """Old loop vs single run vs R-member ensembles for one head."""
    cfg, n, d, c, loss, steps = MLP_HEADS[name]
    cfg = dataclasses.replace(cfg, steps=steps // 4 if quick else steps)
    x, y = synthetic(n, d, c, loss)
    probs = class_scores if loss == "cross_entropy" else _sigmoid
    old_times, old_acc = [], []
    for seed in (0, 1):
        dt, head = timed(lambda s=seed: old_fit(x, y, c, cfg, s, loss))
        old_times.append(dt)
        old_acc.append(train_accuracy(probs(head, x), y))
    single_s = timed(lambda: fit_classifier_ensemble(x, y, c, cfg, [0], loss=loss))[0]
    ensembles, ens_acc = {}, []
    old = float(np.mean(old_times))
    for r in (2, 5) if quick else RUN_COUNTS:
        dt, ens = timed(
            lambda r=r: fit_classifier_ensemble(x, y, c, cfg, list(range(r)), loss=loss)
        )
        ensembles[str(r)] = {"s_total": dt, "s_per_run": dt / r, "speedup_per_run": old * r / dt}
        ens_acc = [train_accuracy(p, y) for p in probs(ens, x)]
    print(
        f"{name}: old {old:.3f} s/run; "
        + ", ".join(f"R={r} {e['s_per_run']:.3f} s ({e['speedup_per_run']:.1f}x)"
                    for r, e in ensembles.items())
    )  # fmt: skip
    return {
        "head": dataclasses.asdict(cfg),
        "data": {"rows": n, "dim": d, "classes": c, "loss": loss},
        "steps_timed": cfg.steps,
        "old_s_per_run": old,
        "single_s_per_run": single_s,
        "ensemble": ensembles,
        "train_accuracy": {"old": float(np.mean(old_acc)), "ensemble": float(np.mean(ens_acc))},
    }


def _sigmoid(head: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        out: np.ndarray = head(torch.as_tensor(x)).sigmoid().numpy()
    return out


def bench_txd(quick: bool) -> dict[str, Any]:
    """TxD (the CPU profile's widths, fewer steps): per-seed loop vs vmapped ensemble."""
    rng = np.random.default_rng(0)
    verbs = [f"v{i}.01" for i in range(20)]
    words = [f"w{i}" for i in range(200)]
    keys = ("Arg0 (agent)", "Arg1 (thing)", "Scene of the Event")
    clips = []
    for c in range(160):
        events = tuple(
            VidSituEvent(
                str(rng.choice(verbs)), {k: " ".join(rng.choice(words, 3)) for k in keys}, None
            )
            for _ in range(5)
        )
        clips.append(VidSituClip(f"v_{c}_seg_0_10", {}, None, (events,)))
    feats = rng.normal(size=(160, 5, 64)).astype(np.float32)
    tok = RoleTokenizer.build(vidsitu_srl.role_sequences(clips))
    cfg = dataclasses.replace(vidsitu_srl.CPU, steps=4 if quick else 10, dropout=0.0)
    loop = [timed(lambda s=s: vidsitu_srl.train_decoder(tok, clips, feats, cfg, s))[0]
            for s in (0, 1)]  # fmt: skip
    out: dict[str, Any] = {"loop_s_per_run": float(np.mean(loop)), "vmap": {}}
    for r in (2,) if quick else (2, 5):
        dt = timed(lambda r=r: vidsitu_srl.train_decoders(tok, clips, feats, cfg, range(r)))[0]
        out["vmap"][str(r)] = {
            "s_per_run": dt / r,
            "speedup_per_run": out["loop_s_per_run"] * r / dt,
        }
    out["config"] = dataclasses.asdict(cfg)
    out["events"] = 5 * len(clips)
    print(f"TxD: {out}")
    return out


def bench_ot(quick: bool) -> dict[str, Any]:
    """The Object Transformer (CPU profile): per-seed loop vs vmapped ensemble, LVU protocol."""
    rng = np.random.default_rng(0)
    videos, seconds = 24, 70
    ys = rng.integers(0, 3, videos)
    root = Path(tempfile.mkdtemp())
    folder = root / "lvu_1.0" / "relationship"
    folder.mkdir(parents=True)
    for split, part in (("train", range(16)), ("test", range(16, videos))):
        rows = [f"{ys[k]} c{ys[k]} vid{k:08d} tt{k}" for k in part]
        (folder / f"{split}.csv").write_text(
            "class_id class_name youtube_id imdb_id\n" + "\n".join(rows) + "\n"
        )
    centres = rng.normal(size=(3, 32))
    cols: dict[str, list[Any]] = {k: [] for k in lvu_spans.INSTANCE_COLUMNS}
    for k in range(videos):
        for s in range(seconds):
            for link in range(2):
                cols["movie_id"].append(f"vid{k:08d}")
                cols["second"].append(s)
                cols["shot"].append(s // 7)
                cols["link"].append(link + 2 * (s // 7))
                for i, v in enumerate((0.1 + 0.4 * link, 0.2, 0.4 + 0.4 * link, 0.9)):
                    cols[("x1", "y1", "x2", "y2")[i]].append(v)
                cols["feature"].append(centres[ys[k]] + rng.normal(size=32))
    table = pa.table({**{k: v for k, v in cols.items() if k != "feature"},
                      "feature": embedding_array(np.array(cols["feature"]))})  # fmt: skip
    data = lvu_spans.TokenTables(table, None)
    cfg = lvu_ot.OTConfig(dropout=0.0, epochs=0.5 if quick else 1.0, eval_stride=30)
    loop = [timed(lambda s=s: lvu_ot.run_ot_task(root, "relationship", data, cfg, s))[0]
            for s in (0, 1)]  # fmt: skip
    out: dict[str, Any] = {"loop_s_per_run": float(np.mean(loop)), "vmap": {}}
    for r in (2,) if quick else (2, 5):
        dt = timed(lambda r=r: lvu_ot.ot_task_runs(root, "relationship", data, cfg, range(r)))[0]
        out["vmap"][str(r)] = {
            "s_per_run": dt / r,
            "speedup_per_run": out["loop_s_per_run"] * r / dt,
        }
    out["config"] = {k: v for k, v in dataclasses.asdict(cfg).items() if k != "masking"}
    out["steps"] = int(np.ceil(cfg.epochs * 16 * 10 / cfg.batch_size))
    print(f"OT: {out}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and run counts")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message="There is a performance drop")
    start = time.perf_counter()
    x, y = synthetic(64, 8, 3, "cross_entropy")  # warm-up: the first optimizer step imports
    tiny = ClassifierConfig(hidden=(4,), steps=3, batch_size=8)  # torch._dynamo (~2 s)
    old_fit(x, y, 3, tiny, 0, "cross_entropy")
    fit_classifier_ensemble(x, y, 3, tiny, [0, 1])
    mlp = {name: bench_mlp(name, args.quick) for name in MLP_HEADS}
    transformers = {"txd": bench_txd(args.quick), "object_transformer": bench_ot(args.quick)}
    met = {
        name: [int(r) for r, e in res["ensemble"].items() if e["speedup_per_run"] >= TARGET]
        for name, res in mlp.items()
    }
    report = {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "note": "2 shared CPU cores, one thread; other jobs ran at the same time",
        },
        "quick": args.quick,
        "mlp_heads": mlp,
        "transformer_heads": transformers,
        "target": {"speedup_per_run": TARGET, "run_counts_meeting_it": met},
        "seconds": time.perf_counter() - start,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    files.write_json(args.out, report, indent=2)
    print(f"wrote {args.out} in {report['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

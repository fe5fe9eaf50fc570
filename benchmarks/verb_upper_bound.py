"""Supervised upper bound of event verbs: a Slow-D trained with verb labels, held-out movies.

The question behind issue 17: can the CPU-sized backbone learn the corpus' 2 s verbs at
all when it is *given* the labels? Every annotated event of a corpus is decoded once into
memory (``--frames`` frames at ``--stride``, centred in the 2 s event, whole frames resized
to ``--height`` x ``--width``: no crop can lose the actors), a ``slow_d_tiny`` with a
linear head is trained with cross-entropy on the events of the catalog's train movies
(AdamW, one-cycle schedule, horizontal flips; ``--augment`` adds per-clip colour-channel
permutation, grey, brightness/contrast and shifts; ``--input-difference`` feeds the
network frame differences, :func:`movierep.models.slow_d.frame_differences`), and scored
on the events of every other movie: Acc@1, macro accuracy (mean of per-verb recalls)
and the train-split majority verb's rate, for each ``--seeds`` seed. Writes JSON.

    python benchmarks/verb_upper_bound.py CORPUS --steps 1000 --seeds 0 1 2 --out verbs.json

Training in memory, without the recipe's loader and augmentation, measures the data and
the network, not the input pipeline.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from movierep import files
from movierep.data.augment import KINETICS_MEAN, KINETICS_STD
from movierep.data.corpus import Corpus
from movierep.models import create_model
from movierep.video.events import iter_event_clips


def normalise(clips: torch.Tensor) -> torch.Tensor:
    """uint8 clips (B, 3, T, H, W) -> float, normalised with the backbones' Kinetics statistics."""
    mean = torch.tensor(KINETICS_MEAN).view(1, 3, 1, 1, 1)
    std = torch.tensor(KINETICS_STD).view(1, 3, 1, 1, 1)
    return (clips.float() / 255 - mean) / std


def decode_events(
    corpus: Path, frames: int, stride: int, size: tuple[int, int]
) -> tuple[torch.Tensor, np.ndarray, np.ndarray, list[str]]:
    """Every annotated event as a uint8 clip.

    Returns:
        clips (E, 3, T, H, W) uint8, verb ids (E,), train-movie mask (E,), verb names.
    """
    c = Corpus(corpus)
    events = c.truth("events").to_pylist()
    verbs = sorted({e["verb"] for e in events})
    clips, labels, train = [], [], []
    for movie in c.catalog.to_pylist():
        mine = sorted(
            (e for e in events if e["movie_id"] == movie["movie_id"]),
            key=lambda e: e["event_index"],
        )
        span = ((frames - 1) * stride + 1) / movie["fps"]
        starts = [
            e["start_time"] + max(0.0, (e["end_time"] - e["start_time"] - span) / 2) for e in mine
        ]
        decoded = iter_event_clips(c.movie_path(movie["movie_id"]), starts, frames, stride)
        for event, clip in zip(mine, decoded, strict=True):
            x = torch.from_numpy(np.asarray(clip)).permute(0, 3, 1, 2).float()  # T, 3, H, W
            x = F.interpolate(x, size=size, mode="bilinear", antialias=True)
            clips.append(x.round().clamp(0, 255).to(torch.uint8).permute(1, 0, 2, 3))
            labels.append(verbs.index(event["verb"]))
            train.append(movie["split"] == "train")
    return torch.stack(clips), np.array(labels), np.array(train), verbs


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Per-clip channel permutation, 30% grey, brightness/contrast, ±4/6 px shifts.

    x: (B, 3, T, H, W) normalised clips; returns the same shape.
    """
    b, _, _, h, w = x.shape
    perms = torch.stack([torch.randperm(3, generator=generator) for _ in range(b)])
    x = x[torch.arange(b)[:, None], perms]
    grey = torch.rand(b, generator=generator) < 0.3
    x[grey] = x[grey].mean(1, keepdim=True).expand_as(x[grey])
    gain = 0.6 + 0.8 * torch.rand(b, 1, 1, 1, 1, generator=generator)
    bias = -0.4 + 0.8 * torch.rand(b, 1, 1, 1, 1, generator=generator)
    x = x * gain + bias
    padded = F.pad(x.flatten(1, 2), (6, 6, 4, 4), mode="replicate").unflatten(1, x.shape[1:3])
    dy = torch.randint(0, 9, (b,), generator=generator).tolist()
    dx = torch.randint(0, 13, (b,), generator=generator).tolist()
    return torch.stack(
        [padded[i, ..., y : y + h, z : z + w] for i, (y, z) in enumerate(zip(dy, dx, strict=True))]
    )


def train_and_score(
    clips: torch.Tensor, labels: np.ndarray, train: np.ndarray, args: argparse.Namespace, seed: int
) -> dict[str, float]:
    """Train on the train movies' events, score train (fit) and held-out events."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    y = torch.from_numpy(labels)
    tr = np.flatnonzero(train)
    model = create_model(args.arch, input_difference=args.input_difference)
    head = torch.nn.Linear(model.feature_dim, int(labels.max()) + 1)
    params = [*model.parameters(), *head.parameters()]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, total_steps=args.steps, pct_start=0.05
    )
    tic = time.monotonic()
    for _ in range(args.steps):
        idx = torch.from_numpy(tr[torch.randint(len(tr), (args.batch,), generator=generator)])
        x = normalise(clips[idx])
        flip = torch.rand(len(idx), generator=generator) < 0.5
        x[flip] = x[flip].flip(-1)
        if args.augment:
            x = augment(x, generator)
        loss = F.cross_entropy(head(model(x)), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    train_s = time.monotonic() - tic
    model.eval()
    with torch.no_grad():
        preds = torch.cat(
            [head(model(normalise(clips[i : i + 64]))).argmax(1) for i in range(0, len(clips), 64)]
        ).numpy()
    held = ~train
    recalls = [np.mean(preds[held & (labels == k)] == k) for k in np.unique(labels[held])]
    return {
        "seed": seed,
        "train_acc": float(np.mean(preds[train] == labels[train])),
        "heldout_acc": float(np.mean(preds[held] == labels[held])),
        "heldout_macro_acc": float(np.mean(recalls)),
        "final_loss": loss.item(),
        "train_s": train_s,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse ``argv``, run every seed, write and return the JSON report."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("corpus", type=Path)
    p.add_argument("--arch", default="slow_d_tiny")
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--stride", type=int, default=6)
    p.add_argument("--height", type=int, default=36)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--augment", action="store_true")
    p.add_argument(
        "--input-difference", action="store_true", help="Slow-D on frame differences (TSN)"
    )
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/verb_upper_bound.json"))
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    tic = time.monotonic()
    clips, labels, train, verbs = decode_events(
        args.corpus, args.frames, args.stride, (args.height, args.width)
    )
    decode_s = time.monotonic() - tic
    majority = int(np.bincount(labels[train]).argmax())
    runs = [train_and_score(clips, labels, train, args, s) for s in args.seeds]
    held = np.array([r["heldout_acc"] for r in runs])
    report: dict[str, Any] = {
        "benchmark": "verb_upper_bound",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"platform": platform.platform(), "torch": torch.__version__},
        "corpus": str(args.corpus),
        "settings": {k: v for k, v in vars(args).items() if k not in ("corpus", "out")},
        "num_train_events": int(train.sum()),
        "num_heldout_events": int((~train).sum()),
        "verbs": verbs,
        "majority_verb": verbs[majority],
        "heldout_majority_acc": float(np.mean(labels[~train] == majority)),
        "decode_s": decode_s,
        "runs": runs,
        "heldout_acc_mean": float(held.mean()),
        "heldout_acc_se": float(held.std(ddof=1) / np.sqrt(len(held))) if len(held) > 1 else None,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    files.write_json(args.out, report, indent=1)
    print(json.dumps({k: report[k] for k in ("heldout_majority_acc", "runs")}, indent=1))
    return report


if __name__ == "__main__":
    main()

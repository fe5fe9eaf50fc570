"""Did every pretraining's loss fall? The first and the last tenth of each training.

Every training of a demo run goes through the training loop, which logs ``loss`` by step
to ``metrics.jsonl`` in its folder (:mod:`movierep.runlog`): the backbones, TxE, the image
encoder (E_fixed), shot adjacency and scene MoCo per similarity source, and whatever else
(ablations, extra pretraining seeds) a run trained under ``OUT``. For each, with ``m``
logged losses ``ℓ_1..ℓ_m`` over ``S`` steps:

- *first tenth*: the mean of the losses logged in the first tenth of the logged steps
  (at least the first one), *last tenth*: in the last tenth (at least the last one);
  for an objective with a queue of negatives, the logged steps start where the queue is
  first full (:func:`loss_curve`);
- the noise level: the step-to-step standard deviation of the logged losses,
  ``σ = √(Σ_i (ℓ_{i+1} − ℓ_i)² / (2(m − 1)))`` (successive differences remove a smooth
  trend, so a falling curve does not count as noise; what is left of the trend makes σ
  larger, never smaller), and each tenth's standard error ``σ / √(losses in it)``;
- the loss *fell* when ``first − last`` exceeds two standard errors of the difference
  (rule 1 of :mod:`movierep.demo.verdicts`), *rose* when it is below minus two, else it is
  flat within the noise; with fewer than 3 logged losses, or tenths that share a logged
  loss, there is no noise level and nothing is decided.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from movierep.demo.paths import Paths
from movierep.demo.presets import DemoPreset
from movierep.demo.scenes import m2s, work_folder
from movierep.demo.verdicts import Comparison, Estimate, compare
from movierep.files import read_json
from movierep.recipes.moviesim import HELDOUT_FILE
from movierep.report import Cell, Row, Table
from movierep.runlog import read_metrics

#: What each outcome of the fall's comparison says about the loss.
SAYS = {
    "better": "fell",
    "worse": "rose",
    "noise": "flat within the noise",
    "undecided": "too few logged losses to tell",
}


def training_runs(p: Paths, preset: DemoPreset) -> dict[str, Path]:
    """``{name: folder}`` of every training under ``OUT`` that logged ``metrics.jsonl``.

    The demo's own trainings come first, by name, in pipeline order; any other folder
    holding a ``metrics.jsonl`` (ablations, extra seeds) follows, named by its path.
    """
    known = {
        "Slow-D CVRL": p.out / "backbones" / "cvrl",
        "Slow-D MoDist": p.out / "backbones" / "modist",
        "Slow-D supervised": p.out / "backbones" / "supervised",
    }
    for backbone, name in (("cvrl", "CVRL"), ("modist", "MoDist")):
        for k in range(preset.seeds("txe")):
            tag = f", seed {k}" if k else ""
            known[f"TxE mask prediction ({name}{tag})"] = p.txe(backbone, seed=k).parent
    known["E_fixed SimCLR"] = m2s(p) / "image_encoder"
    for source in preset.sources:
        for k in range(preset.seeds("scene", source)):
            work = work_folder(p, source, k)
            tag = f", seed {k}" if k else ""
            known[f"shot adjacency ({source}{tag})"] = work / "moviesim"
            known[f"scene MoCo ({source}{tag})"] = work / "scenes"
    out = {name: run for name, run in known.items() if (run / "metrics.jsonl").is_file()}
    seen = set(out.values())
    for path in sorted(p.out.rglob("metrics.jsonl")):
        if path.parent not in seen:
            out[path.parent.relative_to(p.out).as_posix()] = path.parent
    return out


#: What the queue-based objectives log about their queue (MoDist, mask prediction: rows
#: filled; scene MoCo: the filled fraction).
QUEUE_KEYS = ("queue_filled", "queue_fill")


def loss_curve(run: Path) -> list[tuple[int, float]]:
    """``(step, loss)`` of a training's logged records, in step order, once its queue is full.

    An objective with a queue of earlier keys (MoCo, MoDist, mask prediction) starts with
    an empty queue: while it fills, every step adds negatives and the InfoNCE loss grows
    towards ``ln(K + 1)`` whatever the network learns. Its curve is read from the first
    record whose queue is full (its largest logged fill) on; other trainings from step 1.
    """
    rows = sorted(
        (r for r in read_metrics(run / "metrics.jsonl") if "loss" in r and "step" in r),
        key=lambda r: int(r["step"]),
    )
    for key in QUEUE_KEYS:
        fills = [float(r[key]) for r in rows if key in r]
        if len(fills) == len(rows) and rows:
            full = max(fills)
            rows = rows[next(i for i, f in enumerate(fills) if f >= full) :]
            break
    return [(int(r["step"]), float(r["loss"])) for r in rows]


@dataclass(frozen=True)
class LossFall:
    """The first and last tenth of one loss curve.

    Attributes:
        steps: The training's steps (its last logged step).
        logged: How many losses were logged.
        first: Mean loss of the first tenth, its s.e. from the noise level.
        last: Mean loss of the last tenth.
        fall: ``first − last`` (> 0: the loss fell) with its s.e. and outcome.
        disjoint: Whether the two tenths hold different logged losses (else ``fall`` is 0
            by construction and means nothing).
    """

    steps: int
    logged: int
    first: Estimate
    last: Estimate
    fall: Comparison
    disjoint: bool

    @property
    def says(self) -> str:
        """``"fell"``, ``"rose"``, ``"flat within the noise"`` or ``"too few …"``."""
        return SAYS[self.fall.outcome]


def loss_fall(curve: list[tuple[int, float]]) -> LossFall:
    """The module's rule on one curve of ``(step, loss)`` (step order, at least one)."""
    if not curve:
        raise ValueError("an empty loss curve")
    start, steps = curve[0][0], curve[-1][0]
    span = steps - start
    m = len(curve)
    first_i = [i for i, (s, _) in enumerate(curve) if s - start <= span / 10] or [0]
    last_i = [i for i, (s, _) in enumerate(curve) if s - start > 0.9 * span] or [m - 1]
    disjoint = not set(first_i) & set(last_i)
    sigma: float | None = None
    if m >= 3 and disjoint:
        diffs = [curve[i + 1][1] - curve[i][1] for i in range(m - 1)]
        sigma = math.sqrt(math.fsum(d * d for d in diffs) / (2 * (m - 1)))
    spread = f"step-to-step noise of {m} logged losses"

    def tenth(idx: list[int]) -> Estimate:
        mean = math.fsum(curve[i][1] for i in idx) / len(idx)
        se = None if sigma is None else sigma / math.sqrt(len(idx))
        return Estimate(mean, se, m, spread)

    first, last = tenth(first_i), tenth(last_i)
    return LossFall(steps, m, first, last, compare(last, first, lower_is_better=True), disjoint)


def loss_table(runs: dict[str, Path]) -> Table | None:
    """The report's table: per training, the first and last tenth's loss and the fall."""
    rows = []
    for name, run in runs.items():
        curve = loss_curve(run)
        if not curve:
            continue
        f = loss_fall(curve)
        decided = f.fall.outcome != "undecided"
        cells = {
            "first tenth": Cell(f.first.mean, f.first.se),
            "last tenth": Cell(f.last.mean, f.last.se),
            "fall": Cell(f.fall.d, f.fall.se if decided else None) if f.disjoint else None,
            "fall / s.e.": Cell(f.fall.d / f.fall.se) if decided else None,
        }
        logged = f"{f.logged} logged loss" + ("" if f.logged == 1 else "es")
        note = f"{f.says} ({f.steps} steps, {logged})"
        rows.append(Row(name, cells, note=note))
    if not rows:
        return None
    return Table(
        "pretraining_losses", "Pretraining: did every loss fall?",
        "Mean training loss of the first and the last tenth of each training's steps (at "
        "least the first / the last logged loss); ± is the noise level: the step-to-step "
        "s.d. of the logged losses, σ = √(Σ(ℓ_{i+1} − ℓ_i)² / 2(m − 1)), over √(losses in the "
        "tenth). fall = first − last with the s.e. of that difference; a loss fell when the "
        "fall exceeds two s.e. (fall / s.e. > 2). Fewer than 3 logged losses, or tenths that "
        "share one, give no noise level and decide nothing.",
        ("first tenth", "last tenth", "fall", "fall / s.e."), tuple(rows), digits=3,
        highlight_best=False,
    )  # fmt: skip


def _percent(x: float | None, se: float | None = None) -> Cell | None:
    return None if x is None else Cell(100 * float(x), None if se is None else 100 * se)


def heldout_table(p: Paths, preset: DemoPreset) -> Table | None:
    """Shot adjacency on movies it never saw: held-out movie-pair accuracy beside chance.

    One row per similarity source and pretraining seed, from each movie-similarity run's
    ``heldout.json`` (:func:`movierep.similarity.heldout.heldout_pair_accuracy`: the
    held-out movies' similar pairs of the same source, and as many dissimilar ones).
    """
    rows = []
    for source in preset.sources:
        for k in range(preset.seeds("scene", source)):
            path = work_folder(p, source, k) / "moviesim" / HELDOUT_FILE
            if not path.is_file():
                continue
            h = read_json(path)
            acc, se, similar = h.get("accuracy"), h.get("se"), h.get("similar_accuracy")
            cells = {
                "accuracy": _percent(acc, se),
                "chance": _percent(h["chance"]),
                "similar pairs": _percent(similar),
                "pairs": Cell(float(h["pairs"])),
            }
            verdict = "no held-out pair"
            if acc is not None and se:
                d = (acc - float(h["chance"])) / se
                verdict = "above chance" if d > 2 else "below chance" if d < -2 else "at chance"
            note = f"{verdict} ({h['movies']} held-out movies, seed {k})"
            rows.append(Row(f"{source}" + (f" (seed {k})" if k else ""), cells, note=note))
    if not rows:
        return None
    return Table(
        "shot_adjacency_heldout", "Shot adjacency on held-out movies",
        "The movie-similarity network (Movies2Scenes Fig. 2) classifies pairs of val and test "
        "movies it never trained on: the similar pairs of the same source among them, and as "
        "many random dissimilar ones (accuracy %, ± the binomial s.e. over the pairs; chance "
        "50). 'similar pairs': accuracy on the similar half alone.",
        ("accuracy", "chance", "similar pairs", "pairs"), tuple(rows), digits=1,
        highlight_best=False,
    )  # fmt: skip

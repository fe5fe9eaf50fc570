r"""LVU with the Object Transformer and OT++ (Hier-SSL Table 5), and its rank summary.

Inputs are two optional tables keyed by LVU video id (``movie_id``):

- **instances** (:mod:`movierep.features.instances`): one row per box per second with
  ``second, x1, y1, x2, y2, shot, link, feature`` — the top pathway of Fig. 3;
- **scene**: an event-features table (``start_time, end_time`` and ``context_feature``
  from TxE, or ``feature`` for pooled backbone features, the paper's 'Sup') — the bottom
  pathway.

Instances only is OT, scene only the scene pathway, both OT++ (Table 5 rows 1–3, 4–5, 6).

**Spans and aggregation** follow LVU's ``run.py`` (../shared/benchmarks/lvu_movienet.md
§A.4): an example is a 60 s span at one token-second; training draws a random span of a
random train video (``#train videos × 10`` draws make LVU's epoch); evaluation scores every
span whose last second runs from ``first + 59`` to ``last`` in steps of ``eval_stride``
(LVU: 1) and sums the spans' softmax probabilities per video (classification; argmax) or
averages their outputs (regression, MSE on LVU's targets). A video shorter than 60 s is one
span over all its seconds. A span keeps at most ``max_instances`` instance tokens (LVU:
254), the earliest. LVU keeps masking on at test time; we do not (a deterministic test).

**Training** is LVU's fine-tuning: AdamW (weight decay 0.01), linear warm-up over 10% of
the steps then linear decay, batch 16, cross-entropy or MSE; no model selection on val.
With ``pretrain_steps > 0`` each run first pretrains the instance pathway by masked-instance
prediction (:mod:`movierep.pretrain.masked_instances`) on the train videos' spans — labels
unused — and fine-tunes from there, as OT fine-tunes from ``mask_compact.bin``.

**Seeded runs** train one after the other (:func:`run_ot_task`); with ``batch_runs=True``
a task's N fine-tunings train together as one vmapped model (:func:`ot_task_runs`,
:mod:`movierep.tasks.module_ensemble`), each member on its own spans. That is slower on CPU,
where OT is compute-bound; masked-instance pretraining stays one run at a time.

**Rank summary** (Table 5's last two columns, :func:`rank_summary`): per task the feature
sets are ranked by their mean over runs (top-1 higher is better, MSE lower), ties share the
better rank; ``#top-1`` counts the tasks ranked first and ``mean rank`` averages the ranks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import torch
import torch.nn.functional as F

from movierep.data.benchmarks.lvu import LVU_TASKS, REGRESSION_TASKS, LVUItem, load_lvu_task
from movierep.errors import UserError
from movierep.models.object_transformer import ObjectTransformer, SpanBatch
from movierep.pretrain.masked_instances import MaskedInstanceConfig, MaskedInstancePrediction
from movierep.runlog import progress
from movierep.tables import read_table, require_columns, row_groups, to_numpy_embeddings
from movierep.tasks.lvu import eval_split, num_classes
from movierep.tasks.module_ensemble import ModuleEnsemble
from movierep.tasks.protocol import RunResult, ensemble_runs, repeat_runs

SPAN_SECONDS = 60
INSTANCE_COLUMNS = ["movie_id", "second", "x1", "y1", "x2", "y2", "shot", "link", "feature"]


@dataclass(frozen=True)
class OTConfig:
    """The Object Transformer and its schedule (LVU's values; a CPU profile by default).

    Attributes:
        hidden: H (LVU: 768). layers: (LVU: 3). heads: (LVU: 12).
        dropout: embedding, attention and head dropout (BERT's 0.1).
        lr: AdamW learning rate (LVU fine-tuning: 2e-5, from pretrained weights; from
            scratch on CPU 3e-4 trains in the few hundred steps we can afford).
        weight_decay: AdamW (LVU: 0.01).
        batch_size: spans per step (LVU: 16).
        epochs: passes of ``#train videos × 10`` random spans (LVU: one, from pretrained
            weights; the CPU profile trains a small model from scratch and takes six: at
            three, pooled backbone features were still underfit on the demo corpus).
        warmup: share of steps of linear warm-up (LVU: 0.1).
        max_instances: instance tokens kept per span (LVU: 254; the CPU profile 128, which
            keeps every token of the demo corpus' spans but its busiest).
        eval_stride: seconds between evaluated spans (LVU: 1).
        pretrain_steps: masked-instance pretraining steps (0: none).
        pretrain_lr: its learning rate (LVU: 1e-4).
        masking: its masking rule.
        device: where the model runs.
        batch_runs: fine-tune the N seeded runs together under vmap (:func:`ot_task_runs`)
            instead of one after the other; ``None`` (default): together when ``device``
            is a GPU, one after the other on CPU, where vmap measured 1.6x slower per run
            (``benchmarks/results/head_ensembles.json``).
    """

    hidden: int = 128
    layers: int = 2
    heads: int = 4
    dropout: float = 0.1
    lr: float = 3e-4
    weight_decay: float = 0.01
    batch_size: int = 16
    epochs: float = 6.0
    warmup: float = 0.1
    max_instances: int = 128
    eval_stride: int = 1
    pretrain_steps: int = 0
    pretrain_lr: float = 1e-4
    masking: MaskedInstanceConfig = field(default_factory=MaskedInstanceConfig)
    device: str = "cpu"
    batch_runs: bool | None = None


PAPER = OTConfig(hidden=768, layers=3, heads=12, lr=2e-5, epochs=1.0, max_instances=254)


@dataclass
class VideoTokens:
    """One video's tokens: instances (``second, box, shot, link, feature``) and events."""

    inst_second: np.ndarray  # (N,) int
    inst_box: np.ndarray  # (N, 4) float32
    inst_shot: np.ndarray  # (N,) int
    inst_link: np.ndarray  # (N,) int
    inst_feat: np.ndarray  # (N, D_inst) float32
    scene_second: np.ndarray  # (M,) int, the event's middle second
    scene_feat: np.ndarray  # (M, D_scene) float32

    def seconds(self) -> tuple[int, int]:
        """First and last second with a token."""
        both = np.concatenate([self.inst_second, self.scene_second])
        return int(both.min()), int(both.max())

    def spans(self, stride: int) -> list[tuple[int, int]]:
        """Every evaluated span ``[start, end]`` (inclusive seconds), LVU's enumeration."""
        first, last = self.seconds()
        ends = list(range(first + SPAN_SECONDS - 1, last + 1, stride)) or [last]
        out = [(max(first, end - SPAN_SECONDS + 1), end) for end in ends]
        return [s for s in out if self._has_tokens(*s)] or [(first, last)]

    def _has_tokens(self, start: int, end: int) -> bool:
        inside = ((self.inst_second >= start) & (self.inst_second <= end)).any()
        return bool(inside or ((self.scene_second >= start) & (self.scene_second <= end)).any())


class TokenTables:
    """The instance and scene tables of a comparison row, indexed by video id.

    Args:
        instances: instance-features table (path or Arrow), or None.
        scene: event-features table (path or Arrow), or None.
        scene_column: ``context_feature`` or ``feature``; default the first present.
        standardize: z-score each feature dimension over the table's rows (label-free, as
            the MLP heads standardise their inputs); raw Slow-D features are non-negative
            with a common offset larger than their spread, which a few hundred steps of
            training from scratch do not get past.
    """

    def __init__(
        self,
        instances: str | Path | pa.Table | None,
        scene: str | Path | pa.Table | None,
        scene_column: str | None = None,
        standardize: bool = True,
    ) -> None:
        if instances is None and scene is None:
            raise UserError("an Object Transformer needs instance or scene features (or both)")
        self.inst_source = _name(instances)
        self.scene_source = _name(scene)
        self.inst = _load(instances)
        self.scene = _load(scene)
        self.inst_rows: dict[str, np.ndarray] = {}
        self.scene_rows: dict[str, np.ndarray] = {}
        self.inst_dim = self.scene_dim = 0
        if self.inst is not None:
            require_columns(self.inst, INSTANCE_COLUMNS, self.inst_source)
            self.inst_rows = row_groups(self.inst)
            self.inst_x = _standardized(
                to_numpy_embeddings(self.inst.column("feature")), standardize
            )
            self.inst_dim = self.inst_x.shape[1]
            self._inst_cols = {c: self.inst.column(c).to_numpy() for c in INSTANCE_COLUMNS[1:-1]}
        if self.scene is not None:
            names = self.scene.column_names
            self.scene_column = scene_column or (
                "context_feature" if "context_feature" in names else "feature"
            )
            require_columns(
                self.scene,
                ["movie_id", "start_time", "end_time", self.scene_column],
                self.scene_source,
            )
            self.scene_rows = row_groups(self.scene)
            self.scene_x = _standardized(
                to_numpy_embeddings(self.scene.column(self.scene_column)), standardize
            )
            self.scene_dim = self.scene_x.shape[1]
            mid = (
                self.scene.column("start_time").to_numpy()
                + self.scene.column("end_time").to_numpy()
            ) / 2
            self._scene_second = np.floor(mid).astype(np.int64)

    def video(self, vid: str) -> VideoTokens:
        """The tokens of one video (a UserError naming the table when it has none)."""
        d_i, d_s = max(self.inst_dim, 1), max(self.scene_dim, 1)
        inst = self.inst_rows.get(vid, np.zeros(0, np.int64))
        scene = self.scene_rows.get(vid, np.zeros(0, np.int64))
        if self.inst is not None and vid not in self.inst_rows:
            raise UserError(f"{self.inst_source}: no instance row for LVU video {vid!r}")
        if self.scene is not None and vid not in self.scene_rows:
            raise UserError(f"{self.scene_source}: no feature row for LVU video {vid!r}")
        c = getattr(self, "_inst_cols", {})
        return VideoTokens(
            inst_second=c["second"][inst].astype(np.int64) if inst.size else np.zeros(0, np.int64),
            inst_box=np.stack([c[k][inst] for k in ("x1", "y1", "x2", "y2")], 1).astype(np.float32)
            if inst.size
            else np.zeros((0, 4), np.float32),
            inst_shot=c["shot"][inst].astype(np.int64) if inst.size else np.zeros(0, np.int64),
            inst_link=c["link"][inst].astype(np.int64) if inst.size else np.zeros(0, np.int64),
            inst_feat=self.inst_x[inst] if inst.size else np.zeros((0, d_i), np.float32),
            scene_second=self._scene_second[scene] if scene.size else np.zeros(0, np.int64),
            scene_feat=self.scene_x[scene] if scene.size else np.zeros((0, d_s), np.float32),
        )


def _standardized(x: np.ndarray, on: bool) -> np.ndarray:
    """(R, D) rows z-scored per dimension (``on``), else unchanged."""
    if not on or len(x) == 0:
        return x
    out: np.ndarray = ((x - x.mean(0)) / (x.std(0) + 1e-6)).astype(np.float32)
    return out


def _name(x: str | Path | pa.Table | None) -> str:
    return "feature table" if isinstance(x, pa.Table) or x is None else str(x)


def _load(x: str | Path | pa.Table | None) -> pa.Table | None:
    if x is None or isinstance(x, pa.Table):
        return x
    path = Path(x)
    if not path.is_file():
        raise UserError(f"{path}: no such feature table")
    return read_table(path)


def collate_spans(
    videos: Sequence[VideoTokens],
    spans: Sequence[tuple[int, int]],
    max_instances: int,
    generator: torch.Generator | None = None,
) -> SpanBatch:
    """Pad spans into a :class:`SpanBatch`.

    Link ids are renumbered per span (permuted when ``generator`` is given, as LVU does in
    training), shots counted from the span's first shot, seconds from its start.
    """
    b = len(spans)
    parts = []
    for v, (start, end) in zip(videos, spans, strict=True):
        keep = np.flatnonzero((v.inst_second >= start) & (v.inst_second <= end))[:max_instances]
        sc = np.flatnonzero((v.scene_second >= start) & (v.scene_second <= end))
        links, link_idx = np.unique(v.inst_link[keep], return_inverse=True)
        if generator is not None and links.size:
            perm = torch.randperm(links.size, generator=generator).numpy()
            link_idx = perm[link_idx]
        shots = v.inst_shot[keep]
        first_shot = int(shots.min()) if shots.size else 0
        parts.append((v, keep, sc, link_idx, shots - first_shot, start, end))
    n = max([len(p[1]) for p in parts] + [1])
    m = max([len(p[2]) for p in parts] + [1])
    d_i, d_s = videos[0].inst_feat.shape[1], videos[0].scene_feat.shape[1]
    out = SpanBatch(
        inst_feat=torch.zeros(b, n, d_i),
        inst_box=torch.zeros(b, n, 4),
        inst_second=torch.zeros(b, n, dtype=torch.long),
        inst_shot=torch.zeros(b, n, dtype=torch.long),
        inst_link=torch.zeros(b, n, dtype=torch.long),
        inst_valid=torch.zeros(b, n, dtype=torch.bool),
        scene_feat=torch.zeros(b, m, d_s),
        scene_second=torch.zeros(b, m, dtype=torch.long),
        scene_valid=torch.zeros(b, m, dtype=torch.bool),
        span_seconds=torch.zeros(b, dtype=torch.long),
        span_shots=torch.ones(b, dtype=torch.long),
    )
    for i, (v, keep, sc, link_idx, shot_idx, start, end) in enumerate(parts):
        k, j = len(keep), len(sc)
        out.inst_feat[i, :k] = torch.from_numpy(v.inst_feat[keep])
        out.inst_box[i, :k] = torch.from_numpy(v.inst_box[keep])
        out.inst_second[i, :k] = torch.from_numpy(v.inst_second[keep] - start)
        out.inst_shot[i, :k] = torch.from_numpy(shot_idx)
        out.inst_link[i, :k] = torch.from_numpy(np.asarray(link_idx, dtype=np.int64))
        out.inst_valid[i, :k] = True
        out.scene_feat[i, :j] = torch.from_numpy(v.scene_feat[sc])
        out.scene_second[i, :j] = torch.from_numpy(v.scene_second[sc] - start)
        out.scene_valid[i, :j] = True
        out.span_seconds[i] = end - start + 1
        out.span_shots[i] = int(shot_idx.max()) + 1 if k else 1
    return out


def random_span(v: VideoTokens, rng: np.random.Generator) -> tuple[int, int]:
    """A training span: a random 60 s window with tokens (the whole video when shorter)."""
    first, last = v.seconds()
    if last - first + 1 <= SPAN_SECONDS:
        return first, last
    for _ in range(10):
        start = int(rng.integers(first, last - SPAN_SECONDS + 2))
        if v._has_tokens(start, start + SPAN_SECONDS - 1):
            return start, start + SPAN_SECONDS - 1
    return first, first + SPAN_SECONDS - 1


def build_model(data: TokenTables, outputs: int, cfg: OTConfig) -> ObjectTransformer:
    """An Object Transformer with the pathways ``data`` has."""
    return ObjectTransformer(
        outputs,
        data.inst_dim,
        data.scene_dim,
        hidden=cfg.hidden,
        layers=cfg.layers,
        heads=cfg.heads,
        dropout=cfg.dropout,
    )


def _autocast(device: str) -> torch.autocast:
    """bf16 autocast on CUDA, a no-op elsewhere (the loop is device-agnostic)."""
    kind = torch.device(device).type
    return torch.autocast(kind, dtype=torch.bfloat16, enabled=kind == "cuda")


def _schedule(optimizer: torch.optim.Optimizer, steps: int, warmup: float) -> Any:
    """Linear warm-up then linear decay to 0 (LVU's ``get_linear_schedule_with_warmup``)."""
    w = max(1, round(warmup * steps))

    def factor(step: int) -> float:
        return (step + 1) / w if step < w else max(0.0, (steps - step) / max(1, steps - w))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def pretrain_instances(
    data: TokenTables, video_ids: Sequence[str], cfg: OTConfig, seed: int
) -> dict[str, torch.Tensor]:
    """Masked-instance pretraining on the spans of ``video_ids``; the encoder's weights."""
    if data.inst_dim <= 0:
        raise UserError("masked-instance pretraining needs instance features")
    torch.manual_seed(seed)
    rng, gen = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    videos = [data.video(v) for v in video_ids]
    videos = [v for v in videos if v.inst_second.size]
    model = build_model(data, 1, cfg).to(cfg.device)
    objective = MaskedInstancePrediction(model, cfg.masking, seed).to(cfg.device)
    opt = torch.optim.AdamW(
        objective.parameters(), lr=cfg.pretrain_lr, weight_decay=cfg.weight_decay
    )
    sched = _schedule(opt, cfg.pretrain_steps, cfg.warmup)
    objective.train()
    for _ in range(cfg.pretrain_steps):
        pick = rng.integers(len(videos), size=cfg.batch_size)
        batch = [videos[i] for i in pick]
        spans = [random_span(v, rng) for v in batch]
        with _autocast(cfg.device):
            loss = objective(collate_spans(batch, spans, cfg.max_instances, gen).to(cfg.device))[
                "loss"
            ]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return {k: v for k, v in model.state_dict().items() if not k.startswith("head.")}


def run_ot_task(
    root: str | Path,
    task: str,
    data: TokenTables,
    cfg: OTConfig | None = None,
    seed: int = 0,
    init: dict[str, torch.Tensor] | None = None,
) -> dict[str, Any]:
    """Fine-tune OT on one task's train videos and score the eval split (LVU's protocol).

    Returns:
        ``{"metric", "value", "eval_split", "predictions"}`` as :func:`run_lvu_task`.
    """
    root, cfg = Path(root), cfg or OTConfig()
    split, train, test = _task_splits(root, task)
    regression = task in REGRESSION_TASKS
    outputs = 1 if regression else num_classes(root, task)
    torch.manual_seed(seed)
    rng, gen = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    model = build_model(data, outputs, cfg).to(cfg.device)
    if init is not None:
        model.load_state_dict(init, strict=False)
    tr_videos = [data.video(i.video_id) for i in train]
    y = torch.tensor([i.target for i in train], dtype=torch.float32)
    steps = max(1, math.ceil(cfg.epochs * len(train) * 10 / cfg.batch_size))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = _schedule(opt, steps, cfg.warmup)
    model.train()
    for _ in range(steps):
        pick = rng.integers(len(train), size=cfg.batch_size)
        batch = [tr_videos[i] for i in pick]
        spans = [random_span(v, rng) for v in batch]
        with _autocast(cfg.device):
            out = model(collate_spans(batch, spans, cfg.max_instances, gen).to(cfg.device))
        out = out.float()
        target = y[pick].to(cfg.device)
        loss = F.mse_loss(out[:, 0], target) if regression else F.cross_entropy(out, target.long())
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()
        sched.step()
    return _scored(model, data, test, cfg, regression, split)


def _task_splits(root: Path, task: str) -> tuple[str, list[LVUItem], list[LVUItem]]:
    """The eval split's name, the train items and the eval items of a task."""
    split = eval_split(root, task)
    train, test = load_lvu_task(root, task, "train"), load_lvu_task(root, task, split)
    if not train or not test:
        raise UserError(f"{root}: task {task}: empty train or {split} split")
    return split, list(train), list(test)


def _scored(
    model: ObjectTransformer,
    data: TokenTables,
    test: Sequence[LVUItem],
    cfg: OTConfig,
    regression: bool,
    split: str,
) -> dict[str, Any]:
    """A trained model's :func:`run_ot_task` dict on the eval items."""
    predictions = evaluate(model, data, test, cfg, regression)
    if regression:
        targets = np.array([i.target for i in test])
        value = float(np.mean((predictions - targets) ** 2))
        out_list: list[Any] = [float(p) for p in predictions]
    else:
        labels = predictions.argmax(1)
        value = float(np.mean(labels == np.array([i.label for i in test])))
        out_list = [int(c) for c in labels]
    return {
        "metric": "mse" if regression else "top1",
        "value": value,
        "eval_split": split,
        "predictions": [
            {
                "video_id": i.video_id,
                "prediction": p,
                "target": i.label if i.label is not None else i.target,
            }
            for i, p in zip(test, out_list, strict=True)
        ],
    }


def ot_task_runs(
    root: str | Path,
    task: str,
    data: TokenTables,
    cfg: OTConfig | None = None,
    seeds: Sequence[int] = (0,),
    inits: Sequence[dict[str, torch.Tensor] | None] | None = None,
) -> list[dict[str, Any]]:
    """:func:`run_ot_task` for every seed, the fine-tunings trained together under vmap.

    Member r starts from ``run_ot_task(seed=seeds[r], init=inits[r])``'s weights and draws
    its spans from the same generators; its batches are padded to the longest member's
    (padding is masked out of attention). With ``dropout=0`` it ends with that run's
    weights up to float rounding; dropout masks come from torch's one global stream (seeded
    with ``seeds[0]``), so with dropout it matches in distribution only.

    Returns:
        One :func:`run_ot_task` dict per seed, in ``seeds`` order.
    """
    root, cfg = Path(root), cfg or OTConfig()
    split, train, test = _task_splits(root, task)
    regression = task in REGRESSION_TASKS
    outputs = 1 if regression else num_classes(root, task)
    members = []
    for s, init in zip(seeds, inits or [None] * len(seeds), strict=True):
        torch.manual_seed(s)
        members.append(build_model(data, outputs, cfg).to(cfg.device))
        if init is not None:
            members[-1].load_state_dict(init, strict=False)
    torch.manual_seed(seeds[0])
    rngs = [np.random.default_rng(s) for s in seeds]
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    tr_videos = [data.video(i.video_id) for i in train]
    y = torch.tensor([i.target for i in train], dtype=torch.float32)
    steps = max(1, math.ceil(cfg.epochs * len(train) * 10 / cfg.batch_size))
    ens = ModuleEnsemble(members).train()
    opt = torch.optim.AdamW(ens.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = _schedule(opt, steps, cfg.warmup)
    for _ in range(steps):
        batches, picks = [], []
        for rng, gen in zip(rngs, gens, strict=True):
            pick = rng.integers(len(train), size=cfg.batch_size)
            batch = [tr_videos[i] for i in pick]
            spans = [random_span(v, rng) for v in batch]
            batches.append(collate_spans(batch, spans, cfg.max_instances, gen))
            picks.append(pick)
        fields = {k: v.to(cfg.device) for k, v in stack_spans(batches).items()}
        with _autocast(cfg.device):
            out = ens(_forward_fields, fields).float()  # (R, B, C)
        target = y[torch.as_tensor(np.stack(picks))].to(cfg.device)  # (R, B)
        if regression:
            per_member = F.mse_loss(out[..., 0], target, reduction="none").mean(1)
        else:
            per_member = (
                F.cross_entropy(out.flatten(0, 1), target.long().flatten(), reduction="none")
                .view(len(seeds), -1)
                .mean(1)
            )
        opt.zero_grad(set_to_none=True)
        per_member.sum().backward()  # type: ignore[no-untyped-call]
        opt.step()
        sched.step()
    models = [ens.member(r, m) for r, m in enumerate(members)]
    return [_scored(m, data, test, cfg, regression, split) for m in models]


def _forward_fields(model: ObjectTransformer, fields: dict[str, torch.Tensor]) -> torch.Tensor:
    """One member's outputs (B, C) of a :class:`SpanBatch` given as its fields."""
    out: torch.Tensor = model(SpanBatch(**fields))
    return out


def stack_spans(batches: Sequence[SpanBatch]) -> dict[str, torch.Tensor]:
    """R batches of B spans -> their fields stacked (R, B, ...), tokens padded to the longest.

    Padded tokens are invalid (``inst_valid``/``scene_valid`` False), as in
    :func:`collate_spans`.
    """
    n = max(b.inst_valid.shape[1] for b in batches)
    m = max(b.scene_valid.shape[1] for b in batches)
    out = {}
    for name in vars(batches[0]):
        parts = [getattr(b, name) for b in batches]
        width = n if name.startswith("inst_") else m if name.startswith("scene_") else None
        if width is not None:
            padded = []
            for t in parts:
                full = t.new_zeros((t.shape[0], width, *t.shape[2:]))
                full[:, : t.shape[1]] = t
                padded.append(full)
            parts = padded
        out[name] = torch.stack(parts)
    return out


@torch.no_grad()
def evaluate(
    model: ObjectTransformer,
    data: TokenTables,
    items: Sequence[LVUItem],
    cfg: OTConfig,
    regression: bool,
) -> np.ndarray:
    """Per-video scores: softmax sums (V, C) or mean outputs (V,) over every span."""
    model.eval()
    out = []
    for item in items:
        v = data.video(item.video_id)
        spans = v.spans(cfg.eval_stride)
        total = None
        for i in range(0, len(spans), cfg.batch_size):
            chunk = spans[i : i + cfg.batch_size]
            with _autocast(cfg.device):
                batch = collate_spans([v] * len(chunk), chunk, cfg.max_instances)
                logits = model(batch.to(cfg.device)).float()
            part = logits[:, 0].sum() if regression else logits.softmax(-1).sum(0)
            total = part if total is None else total + part
        assert total is not None
        out.append((total / len(spans) if regression else total).cpu().numpy())
    return np.array(out)


def run_lvu_ot(
    root: str | Path,
    instances: str | Path | pa.Table | None = None,
    scene: str | Path | pa.Table | None = None,
    tasks: Sequence[str] = LVU_TASKS,
    runs: int = 5,
    seed: int = 0,
    cfg: OTConfig | None = None,
    desc: str = "LVU (OT)",
) -> dict[str, Any]:
    """Every task ``runs`` times with OT / the scene pathway / OT++ (which tables are given).

    Masked-instance pretraining (``cfg.pretrain_steps``) runs once per seed on the union of
    the tasks' train videos and initialises every task of that seed.

    Returns:
        ``{task: {"metric", "eval_split", "runs", "summary": {metric: (mean, se)},
        "predictions"}}`` as :func:`movierep.tasks.lvu.run_lvu`.
    """
    cfg = cfg or OTConfig()
    data = TokenTables(instances, scene)
    for task in tasks:
        if task not in LVU_TASKS:
            raise UserError(f"unknown LVU task {task!r} (known: {', '.join(LVU_TASKS)})")
    inits: dict[int, dict[str, torch.Tensor]] = {}
    if cfg.pretrain_steps > 0 and data.inst_dim > 0:
        train_ids = sorted(
            {i.video_id for t in tasks for i in load_lvu_task(Path(root), t, "train")}
        )
        for r in range(runs):
            inits[seed + r] = pretrain_instances(data, train_ids, cfg, seed + r)
    out: dict[str, Any] = {}
    for task in progress(tasks, desc=desc, unit="task"):
        metric = "mse" if task in REGRESSION_TASKS else "top1"
        if cfg.batch_runs or (cfg.batch_runs is None and cfg.device.startswith("cuda")):

            def train_all(seeds: list[int], task: str = task) -> list[dict[str, Any]]:
                return ot_task_runs(root, task, data, cfg, seeds, [inits.get(s) for s in seeds])

            result = ensemble_runs(train_all, _run_result, runs, seed, [metric])
        else:

            def run_once(run_seed: int, task: str = task) -> RunResult:
                return _run_result(
                    run_ot_task(root, task, data, cfg, run_seed, inits.get(run_seed))
                )

            result = repeat_runs(run_once, runs, seed, [metric])
        out[task] = {"metric": metric, "eval_split": eval_split(Path(root), task), **result}
    return out


def _run_result(res: dict[str, Any]) -> RunResult:
    """One run's ``{metric: value}`` and predictions from its :func:`run_ot_task` dict."""
    return {res["metric"]: res["value"]}, res["predictions"]


def rank_summary(
    means: dict[str, dict[str, float]], lower_better: set[str]
) -> dict[str, dict[str, float]]:
    """Table 5's ``#top-1`` and ``mean rank`` of each feature set across tasks.

    Args:
        means: ``{feature set: {task: mean over runs}}``, the same tasks for every set.
        lower_better: tasks where lower is better (the MSE regressions).

    Returns:
        ``{feature set: {"top1": tasks ranked first, "mean_rank": mean rank}}``; ties share
        the better rank (1 + the number of sets strictly better).
    """
    names = list(means)
    tasks = list(next(iter(means.values()))) if names else []
    ranks: dict[str, list[int]] = {n: [] for n in names}
    for task in tasks:
        sign = 1.0 if task in lower_better else -1.0
        values = {n: sign * means[n][task] for n in names}
        for n in names:
            ranks[n].append(1 + sum(values[o] < values[n] for o in names))
    return {
        n: {"top1": float(sum(r == 1 for r in ranks[n])), "mean_rank": float(np.mean(ranks[n]))}
        for n in names
    }

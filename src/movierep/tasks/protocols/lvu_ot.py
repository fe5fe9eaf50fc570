r"""LVU with the Object Transformer and OT++ (Hier-SSL Table 5), and its rank summary.

The inputs are an instance table, a scene table or both, as token batches of 60 s spans
(:mod:`movierep.tasks.protocols.lvu_spans`). Instances only is OT, scene only the scene
pathway, both OT++ (Table 5 rows 1–3, 4–5, 6).

**Spans and aggregation** follow LVU's ``run.py`` (../shared/benchmarks/lvu_movienet.md
§A.4): an example is a 60 s span at one token-second; training draws a random span of a
random train video (``#train videos × 10`` draws make LVU's epoch); evaluation scores every
span whose last second runs from ``first + 59`` to ``last`` in steps of ``eval_stride``
(LVU: 1) and sums the spans' softmax probabilities per video (classification; argmax) or
averages their outputs (regression, MSE on LVU's targets). A span keeps at most
``max_instances`` instance tokens (LVU: 254), the earliest. LVU keeps masking on at test
time; we do not (a deterministic test).

**Training** is LVU's fine-tuning: AdamW (weight decay 0.01), linear warm-up over 10% of
the steps then linear decay (:func:`movierep.train.schedules.warmup_linear`), batch 16,
cross-entropy or MSE; no model selection on val; the head loop
(:func:`movierep.tasks.heads.loop.train_head`) takes the steps. With ``pretrain_steps > 0``
each run first pretrains the instance pathway by masked-instance prediction
(:mod:`movierep.pretrain.masked_instances`) on the train videos' spans — labels unused —
through :func:`movierep.train.loop.fit`, with the same optimiser and schedule, and
fine-tunes from there, as OT fine-tunes from ``mask_compact.bin``.

**Seeded runs** train one after the other (:func:`run_ot_task`); with ``batch_runs=True``
a task's N fine-tunings train together as one vmapped model (:func:`ot_task_runs`,
:mod:`movierep.tasks.heads.module_ensemble`), each member on its own spans. That is
slower on CPU, where OT is compute-bound; masked-instance pretraining stays one run at a
time.

**Rank summary** (Table 5's last two columns, :func:`rank_summary`): per task the feature
sets are ranked by their mean over runs (top-1 higher is better, MSE lower), ties share the
better rank; ``#top-1`` counts the tasks ranked first and ``mean rank`` averages the ranks.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import torch
import torch.nn.functional as F

from movierep.data.benchmarks.lvu import LVU_TASKS, REGRESSION_TASKS, LVUItem, load_lvu_task
from movierep.errors import UserError
from movierep.models.object_transformer import (
    ObjectTransformer,
    ObjectTransformerConfig,
    SpanBatch,
)
from movierep.pretrain.masked_instances import MaskedInstanceConfig, MaskedInstancePrediction
from movierep.runlog import progress
from movierep.tasks.heads.loop import train_head
from movierep.tasks.heads.module_ensemble import ModuleEnsemble
from movierep.tasks.heads.protocol import RunResult, ensemble_runs, repeat_runs
from movierep.tasks.protocols.lvu import eval_split, num_classes, task_result
from movierep.tasks.protocols.lvu_spans import (
    TokenTables,
    collate_spans,
    span_batches,
    stack_spans,
)
from movierep.train.loop import TrainConfig, fit
from movierep.train.schedules import warmup_linear


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


def build_model(data: TokenTables, outputs: int, cfg: OTConfig) -> ObjectTransformer:
    """An Object Transformer with the pathways ``data`` has."""
    return ObjectTransformer(model_config(data, outputs, cfg))


def model_config(data: TokenTables, outputs: int, cfg: OTConfig) -> ObjectTransformerConfig:
    """:func:`build_model`'s architecture: ``outputs`` heads over ``data``'s pathways."""
    return ObjectTransformerConfig(
        num_outputs=outputs,
        instance_dim=data.inst_dim,
        scene_dim=data.scene_dim,
        hidden=cfg.hidden,
        layers=cfg.layers,
        heads=cfg.heads,
        dropout=cfg.dropout,
    )


def _autocast(device: str) -> torch.autocast:
    """bf16 autocast on CUDA, a no-op elsewhere (the loop is device-agnostic)."""
    kind = torch.device(device).type
    return torch.autocast(kind, dtype=torch.bfloat16, enabled=kind == "cuda")


def warmup_steps(cfg: OTConfig, steps: int) -> int:
    """Steps of linear warm-up: ``cfg.warmup`` of ``steps``, at least one."""
    return max(1, round(cfg.warmup * steps))


def _schedule(cfg: OTConfig, steps: int) -> np.ndarray:
    """Every fine-tuning step's learning rate: LVU's linear warm-up, then linear decay to 0."""
    return warmup_linear(cfg.lr, steps, warmup_steps=warmup_steps(cfg, steps))


def pretraining_config(cfg: OTConfig, seed: int) -> TrainConfig:
    """:func:`~movierep.train.loop.fit`'s settings for masked-instance pretraining.

    AdamW at ``pretrain_lr`` with ``weight_decay`` on every parameter, the same warm-up
    and linear decay as fine-tuning, ``batch_size`` spans a step, bf16 on CUDA; one
    checkpoint, at the end.
    """
    return TrainConfig(
        steps=cfg.pretrain_steps,
        batch_size=cfg.batch_size,
        lr=cfg.pretrain_lr,
        weight_decay=cfg.weight_decay,
        decay_all=True,
        optimizer="adamw",
        warmup_steps=warmup_steps(cfg, cfg.pretrain_steps),
        schedule="linear",
        ckpt_every=cfg.pretrain_steps,
        seed=seed,
        device=cfg.device,
    )


def pretrain_instances(
    data: TokenTables,
    video_ids: Sequence[str],
    cfg: OTConfig,
    seed: int,
    out_dir: str | Path | None = None,
) -> dict[str, torch.Tensor]:
    """Masked-instance pretraining on the spans of ``video_ids``; the encoder's weights.

    The objective (:class:`~movierep.pretrain.masked_instances.MaskedInstancePrediction`)
    trains through :func:`~movierep.train.loop.fit` (:func:`pretraining_config`) on
    :func:`~movierep.tasks.protocols.lvu_spans.span_batches` drawn with ``seed``; the
    weights are initialised after ``torch.manual_seed(seed)``.

    Args:
        data: the token tables (with instance features).
        video_ids: the videos whose spans it trains on (their labels are unused).
        cfg: the model, ``pretrain_steps``, ``pretrain_lr`` and the masking.
        seed: the run's seed.
        out_dir: fit's run folder (checkpoint, ``metrics.jsonl``, ``summary.md``); a
            temporary folder, removed afterwards, when None.

    Returns:
        The Object Transformer's state without its task head (``head.*``).
    """
    if data.inst_dim <= 0:
        raise UserError("masked-instance pretraining needs instance features")
    torch.manual_seed(seed)
    rng, gen = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    videos = [data.video(v) for v in video_ids]
    videos = [v for v in videos if v.inst_second.size]
    model = build_model(data, 1, cfg)
    objective = MaskedInstancePrediction(model, cfg.masking, seed)
    batches = (
        vars(b) for _, b in span_batches(videos, cfg.batch_size, cfg.max_instances, rng, gen)
    )
    kwargs = dataclasses.asdict(model_config(data, 1, cfg))
    with tempfile.TemporaryDirectory() as tmp:
        fit(
            objective,
            batches,
            pretraining_config(cfg, seed),
            out_dir if out_dir is not None else tmp,
            export=lambda: (model, "object_transformer", kwargs),
            resume=False,
            title="masked-instance pretraining",
        )
    return {k: v for k, v in model.state_dict().items() if not k.startswith("head.")}


def _fine_tuning_steps(cfg: OTConfig, train: Sequence[LVUItem]) -> int:
    """LVU's epochs of ``#train videos × 10`` random spans, in steps of ``batch_size``."""
    return max(1, math.ceil(cfg.epochs * len(train) * 10 / cfg.batch_size))


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
    steps = _fine_tuning_steps(cfg, train)

    def loss(b: tuple[np.ndarray, SpanBatch]) -> torch.Tensor:
        pick, batch = b
        with _autocast(cfg.device):
            out = model(batch.to(cfg.device))
        out = out.float()
        target = y[pick].to(cfg.device)
        return F.mse_loss(out[:, 0], target) if regression else F.cross_entropy(out, target.long())

    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    model.train()
    batches = span_batches(tr_videos, cfg.batch_size, cfg.max_instances, rng, gen)
    train_head(loss, batches, opt, steps, _schedule(cfg, steps))
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
    return task_result(test, out_list, value, regression, split)


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
    tr_videos = [data.video(i.video_id) for i in train]
    y = torch.tensor([i.target for i in train], dtype=torch.float32)
    steps = _fine_tuning_steps(cfg, train)
    ens = ModuleEnsemble(members).train()
    streams = [
        span_batches(
            tr_videos, cfg.batch_size, cfg.max_instances, np.random.default_rng(s),
            torch.Generator().manual_seed(s),
        )
        for s in seeds
    ]  # fmt: skip

    def member_batches() -> Iterator[tuple[torch.Tensor, dict[str, torch.Tensor]]]:
        """Per step: the members' picks (R, B) and their spans, padded and stacked."""
        while True:
            picks, batches = zip(*(next(stream) for stream in streams), strict=True)
            yield torch.as_tensor(np.stack(picks)), stack_spans(batches)

    def loss(b: tuple[torch.Tensor, dict[str, torch.Tensor]]) -> torch.Tensor:
        picks, stacked = b
        fields = {k: v.to(cfg.device) for k, v in stacked.items()}
        with _autocast(cfg.device):
            out = ens(_forward_fields, fields).float()  # (R, B, C)
        target = y[picks].to(cfg.device)  # (R, B)
        if regression:
            per_member = F.mse_loss(out[..., 0], target, reduction="none").mean(1)
        else:
            per_member = (
                F.cross_entropy(out.flatten(0, 1), target.long().flatten(), reduction="none")
                .view(len(seeds), -1)
                .mean(1)
            )
        return per_member.sum()

    opt = torch.optim.AdamW(ens.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    train_head(loss, member_batches(), opt, steps, _schedule(cfg, steps))
    models = [ens.member(r, m) for r, m in enumerate(members)]
    return [_scored(m, data, test, cfg, regression, split) for m in models]


def _forward_fields(model: ObjectTransformer, fields: dict[str, torch.Tensor]) -> torch.Tensor:
    """One member's outputs (B, C) of a :class:`SpanBatch` given as its fields."""
    out: torch.Tensor = model(SpanBatch(**fields))
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
        "predictions"}}`` as :func:`movierep.tasks.protocols.lvu.run_lvu`.
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

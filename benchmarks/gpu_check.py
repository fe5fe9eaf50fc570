"""One prepared GPU check: 20 steps of every recipe's paper profile, bf16, on one GPU.

Issue 30, item 5. For each case the script trains ``--steps`` (20) steps of the paper
profile through the recipe's own ``run`` (so through :func:`movierep.train.loop.fit`, its
bf16 autocast and the new input pipeline: the decoded-frame cache and on-device clip
augmentation) and reports the throughput, the peak GPU memory and whether the loader keeps
the GPU busy:

- ``cvrl``, ``modist``, ``supervised``: Slow-D R50, 16×4 clips at 224², from the corpus'
  Kinetics-style clips (+ the train movies for CVRL / MoDist) through the frame cache;
- ``txe``: TxE mask prediction on sequences of N = 5 synthetic 2048-d event features;
- ``txd``: the paper-size TxD (:class:`movierep.tasks.protocols.vidsitu_srl.SRLConfig`) on the
  corpus' VidSitu role sequences, one synthetic 2048-d event feature as its memory (TxD has
  no recipe: its loop is timed here, the way ``fit`` times its own);
- ``shot_adjacency``: the shot-adjacency network at 1,024 shots on synthetic 512-d shot
  features (600-1,600 shots per movie), similar pairs from the corpus' co-watch log;
- ``scene_moco``: ViT-B/16 scene MoCo (9 shots × 224²) from a fresh ViT-B/16 checkpoint, on
  synthetic ``P_scene`` pairs of the corpus' real shots and keyframes.

Each attempt runs in a fresh subprocess (memory and failures isolated). A CUDA OOM halves
the batch until it fits (the batch used is recorded); a loader-worker crash (e.g. a small
``/dev/shm``) retries once in-process (``num_workers=0``). Timing comes from the loop's
``metrics.jsonl`` scalars, logged every step: ``samples_per_s`` and ``data_wait_frac``
give each step's elapsed and waited time (wait: blocked on the loader's next batch;
compute: the rest, host-to-device copy and on-device augmentation included). The "steady"
numbers leave out the first quarter of the steps (CUDA start-up, cuDNN autotuning, loader
warm-up); "loader-bound" means the steady wait share is above 0.2. The budget
(``--budget-s``, 7.5 min) counts from the start, input preparation included: a case that
cannot start in time is recorded as skipped, one still running at the end is killed and
recorded as a timeout. Inputs are made once in ``--work`` (reused while their sizes
match): a 320×180 corpus, its shots (scenedetect), the frame cache and MoDist's flow
filled in parallel, the synthetic tables and the ViT checkpoint.

Run on the GPU machine (the script falls back to ``./src`` when movierep is not
installed; it needs PyAV and scenedetect, which the device image lacks: carry them as
wheels, ``av``, ``scenedetect``, ``platformdirs``, in ``.whl``)::

    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site || exit; \
        PYTHONUNBUFFERED=1 python3 benchmarks/gpu_check.py --out $OUT/gpu_check.json

On a machine with movierep's dependencies: ``pip install -e . && python
benchmarks/gpu_check.py``. ``--smoke`` runs the same code path on CPU with tiny sizes (cpu
profiles, batch 4, 2 steps; writes ``results/gpu_check_smoke.json`` unless ``--out``): 1-3
minutes on 2 cores, most of it the subprocesses' start-up and the inputs (reused on a rerun).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import multiprocessing
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("movierep") is None:  # not installed: run from the checkout
    sys.path.insert(0, str(REPO / "src"))

RESULTS = REPO / "benchmarks" / "results" / "gpu_check.json"
#: Bump when the prepared inputs change (a mismatch rebuilds ``--work``).
PREP_VERSION = 1
#: Steady wait share above which a case is called loader-bound.
LOADER_BOUND = 0.2
#: Case order (the likeliest to need OOM retries last).
CASE_NAMES = ("cvrl", "modist", "supervised", "txe", "txd", "shot_adjacency", "scene_moco")


@dataclass(frozen=True)
class Sizes:
    """Everything that differs between the GPU run and the CPU smoke run."""

    profile: str
    device: str
    steps: int
    workers: int
    corpus: dict[str, Any]
    event_dim: int
    event_videos: int
    events_per_video: int
    shot_dim: int
    shots_per_movie: tuple[int, int]
    vit: dict[str, Any]
    scene_pairs: int
    batch_cap: int | None = None
    min_start_s: float = 40.0
    packages: tuple[str, ...] = ("av", "scenedetect", "cv2", "pyarrow", "yaml")


GPU = Sizes(
    profile="paper",
    device="cuda",
    steps=20,
    workers=8,
    corpus={"movies": 16, "minutes": 0.5, "width": 320, "height": 180, "kinetics_train": 4},
    event_dim=2048,
    event_videos=40,
    events_per_video=64,
    shot_dim=512,
    shots_per_movie=(600, 1600),
    vit={
        "image_size": [224, 224],
        "patch_size": 16,
        "width": 768,
        "layers": 12,
        "heads": 12,
        "output_dim": 512,
    },
    scene_pairs=2048,
)
SMOKE = Sizes(
    profile="cpu",
    device="cpu",
    steps=2,
    workers=1,
    corpus={"movies": 8, "minutes": 0.25, "width": 128, "height": 72, "kinetics_train": 1},
    event_dim=128,
    event_videos=8,
    events_per_video=16,
    shot_dim=512,
    shots_per_movie=(20, 50),
    vit={
        "image_size": [64, 112],
        "patch_size": 16,
        "width": 192,
        "layers": 4,
        "heads": 3,
        "output_dim": 256,
    },
    scene_pairs=64,
    batch_cap=4,
    min_start_s=5.0,
)


@dataclass(frozen=True)
class Inputs:
    """Where the prepared inputs live under the work folder."""

    work: Path

    @property
    def corpus(self) -> Path:
        """The synthetic corpus."""
        return self.work / "corpus"

    @property
    def kinetics(self) -> Path:
        """Its Kinetics-style clips."""
        return self.corpus / "kinetics"

    @property
    def frames(self) -> Path:
        """The decoded-frame cache (``data.frame_cache``)."""
        return self.work / "cache" / "frames"

    @property
    def shots(self) -> Path:
        """The movies' shots and keyframes (``movierep ingest shots``)."""
        return self.work / "shots"

    @property
    def events(self) -> Path:
        """Synthetic event features (TxE)."""
        return self.work / "features" / "events.parquet"

    @property
    def shot_features(self) -> Path:
        """Synthetic E_fixed shot features (shot adjacency)."""
        return self.work / "features" / "shot_features.parquet"

    @property
    def pairs(self) -> Path:
        """Synthetic ``P_scene`` over the real shots (scene MoCo)."""
        return self.work / "p_scene.parquet"

    @property
    def vit(self) -> Path:
        """A fresh ViT checkpoint (E_fixed, scene MoCo's initialisation)."""
        return self.work / "vit"

    def run(self, case: str, batch: int, workers: int) -> Path:
        """The run folder of one attempt."""
        return self.work / "runs" / f"{case}_b{batch}_w{workers}"


# ------------------------------------------------------------------------------ prepare


def _clip_config(sizes: Sizes, inputs: Inputs) -> Any:
    """MoDist's resolved clip settings (the backbone recipes share them)."""
    from movierep.recipes import modist

    cfg = modist.resolve(sizes.profile, sets=[f"data.frame_cache={inputs.frames}"])
    return cfg.data


def _training_videos(sizes: Sizes, inputs: Inputs) -> list[str]:
    """Every video a backbone case reads (Kinetics-style clips and the train movies)."""
    from movierep.data.sources import open_source

    d = _clip_config(sizes, inputs)
    paths: dict[str, None] = {}
    for root in (inputs.kinetics, inputs.corpus):
        for span in open_source(root, d.split, segment_s=d.segment_s).spans:
            paths[str(span.path)] = None
    return list(paths)


def warm_video(path: str, cache_root: str, short_side: int | None, stride: int) -> float:
    """Decode one video into the frame cache and compute MoDist's flow; seconds taken."""
    from movierep.video.flow import video_flow
    from movierep.video.frame_cache import DecodeSettings, FrameCache

    tic = time.monotonic()
    video = FrameCache(cache_root, DecodeSettings(short_side)).open(path)
    video_flow(video, stride)
    return time.monotonic() - tic


def shots_shard(corpus: str, out: str, shard: tuple[int, int]) -> int:
    """Shot detection (scenedetect) and keyframes for one shard of the movies."""
    from movierep.video.ingest import ingest_shots

    report, _ = ingest_shots([corpus], out, shard, detector="scenedetect", show_progress=False)
    return len(report.done)


def write_events(path: str, sizes: Sizes, seed: int = 0) -> int:
    """A synthetic ``event_features`` table: consecutive 2 s events of random features."""
    import numpy as np
    import pyarrow as pa

    from movierep import tables

    rng = np.random.default_rng(seed)
    n, v = sizes.events_per_video, sizes.event_videos
    idx = np.tile(np.arange(n), v)
    feats = rng.standard_normal((n * v, sizes.event_dim), dtype=np.float32)
    table = pa.Table.from_arrays(
        [
            pa.array(np.repeat([f"v{i:04d}" for i in range(v)], n)),
            pa.array(idx, pa.int32()),
            pa.array(2.0 * idx, pa.float64()),
            pa.array(2.0 * idx + 2.0, pa.float64()),
            tables.embedding_array(feats),
        ],
        schema=tables.event_features_schema(sizes.event_dim),
    )
    tables.write_table(path, table)
    return int(table.num_rows)


def write_shot_features(path: str, movies: list[str], sizes: Sizes, seed: int = 0) -> int:
    """Synthetic E_fixed shot features: random shot counts and unit-norm random features."""
    import numpy as np
    import pyarrow as pa

    from movierep import tables
    from movierep.features.shot_features import shot_features_schema

    rng = np.random.default_rng(seed)
    lo, hi = sizes.shots_per_movie
    counts = rng.integers(lo, hi + 1, len(movies))
    ids = np.repeat(movies, counts)
    shot = np.concatenate([np.arange(c) for c in counts])
    feats = rng.standard_normal((len(ids), sizes.shot_dim), dtype=np.float32)
    feats /= np.linalg.norm(feats, axis=1, keepdims=True)
    table = pa.Table.from_arrays(
        [
            pa.array(ids.tolist(), pa.string()),
            pa.array(shot, pa.int32()),
            pa.array(4.0 * shot, pa.float64()),
            pa.array(4.0 * shot + 4.0, pa.float64()),
            tables.embedding_array(feats),
        ],
        schema=shot_features_schema(sizes.shot_dim),
    )
    tables.write_table(path, table)
    return int(table.num_rows)


def write_vit(path: str, kwargs: dict[str, Any], seed: int = 0) -> str:
    """A randomly initialised ViT checkpoint folder (arch ``vit``)."""
    import torch

    from movierep.checkpoint import save_checkpoint
    from movierep.models.factory import create_model, model_config

    torch.manual_seed(seed)
    model = create_model("vit", **kwargs)
    save_checkpoint(path, model, "vit", model_config(model))
    return path


def write_scene_pairs(inputs: Inputs, sizes: Sizes, seed: int = 0) -> int:
    """Synthetic ``P_scene``: windows of ``shots_per_scene`` real shots of two random movies."""
    import numpy as np
    import pyarrow as pa

    from movierep import tables
    from movierep.recipes import scenes
    from movierep.similarity.scene_pairs import P_SCENE

    kernel = scenes.resolve(sizes.profile).data.shots_per_scene
    shots = tables.read_table(inputs.shots / "keyframes.parquet", ["movie_id", "shot_index"])
    counts: dict[str, int] = {}
    for movie, shot in zip(
        shots.column("movie_id").to_pylist(), shots.column("shot_index").to_pylist(), strict=True
    ):
        counts[movie] = max(counts.get(movie, 0), int(shot) + 1)
    movies = sorted(counts)
    rng = np.random.default_rng(seed)
    rows: dict[str, list[Any]] = {name: [] for name in P_SCENE.names}
    for _ in range(sizes.scene_pairs):
        a, b = rng.choice(len(movies), 2, replace=False)
        for side, movie in (("a", movies[a]), ("b", movies[b])):
            start = int(rng.integers(max(counts[movie] - kernel, 0) + 1))
            rows[f"movie_{side}"].append(movie)
            rows[f"{side}_start"].append(start)
            rows[f"{side}_end"].append(min(start + kernel, counts[movie]))
        rows["score"].append(float(rng.random()))
        rows["space"].append("synthetic")
    tables.write_table(inputs.pairs, pa.Table.from_pydict(rows, schema=P_SCENE))
    return sizes.scene_pairs


def cpu_count() -> int:
    """CPUs this process may use (a container's share, not the host's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _signature(sizes: Sizes) -> dict[str, Any]:
    keys = ("corpus", "event_dim", "event_videos", "events_per_video", "shot_dim",
            "shots_per_movie", "vit", "scene_pairs", "profile")  # fmt: skip
    return {"version": PREP_VERSION, **{k: json.loads(json.dumps(asdict(sizes)[k])) for k in keys}}


def prepare(inputs: Inputs, sizes: Sizes, fresh: bool) -> dict[str, Any]:
    """Make every case's inputs (skipped when ``--work`` already holds them at these sizes)."""
    from movierep.corpus import make_corpus
    from movierep.data.corpus import Corpus
    from movierep.video.ingest import ingest_shots

    marker = inputs.work / "prep.json"
    if not fresh and marker.is_file():
        done = json.loads(marker.read_text())
        if done.get("signature") == _signature(sizes):
            return {**done["timings"], "reused": True}
    for made in (inputs.corpus, inputs.frames.parent, inputs.shots, inputs.events.parent,
                 inputs.vit, inputs.work / "runs", inputs.work / "logs"):  # fmt: skip
        shutil.rmtree(made, ignore_errors=True)
    inputs.work.mkdir(parents=True, exist_ok=True)
    cpus = cpu_count()
    timings: dict[str, Any] = {}
    tic = time.monotonic()
    make_corpus(inputs.corpus, "tiny", seed=0, workers=cpus, kinetics_val=0, **sizes.corpus)
    timings["corpus_s"] = round(time.monotonic() - tic, 1)
    movies = sorted(Corpus(inputs.corpus).movie_ids)
    videos = _training_videos(sizes, inputs)
    clips = _clip_config(sizes, inputs)
    warm = (str(inputs.frames), clips.cache_short_side, clips.frame_stride)
    tic = time.monotonic()
    shards = min(cpus, len(movies))
    context = multiprocessing.get_context("spawn")  # no fork of a process holding threads
    with ProcessPoolExecutor(cpus, mp_context=context) as pool:
        jobs: list[Future[Any]] = [
            pool.submit(shots_shard, str(inputs.corpus), str(inputs.shots), (i, shards))
            for i in range(shards)
        ]
        jobs += [pool.submit(warm_video, v, *warm) for v in videos]
        jobs.append(pool.submit(write_vit, str(inputs.vit), sizes.vit))
        jobs.append(pool.submit(write_events, str(inputs.events), sizes))
        jobs.append(pool.submit(write_shot_features, str(inputs.shot_features), movies, sizes))
        for job in jobs:
            job.result()
    ingest_shots([inputs.corpus], inputs.shots, detector="scenedetect", show_progress=False)
    write_scene_pairs(inputs, sizes)
    timings["parallel_prep_s"] = round(time.monotonic() - tic, 1)
    timings["videos_cached"] = len(videos)
    timings["movies"] = len(movies)
    marker.write_text(json.dumps({"signature": _signature(sizes), "timings": timings}) + "\n")
    return timings


# ------------------------------------------------------------------------------ cases

History = list[dict[str, Any]]


@dataclass(frozen=True)
class Child:
    """What one attempt's subprocess is told."""

    case: str
    batch: int
    workers: int
    sizes: Sizes
    inputs: Inputs

    def sets(self, *more: str) -> list[str]:
        """The ``--set`` overrides every recipe case shares."""
        return [
            f"train.steps={self.sizes.steps}",
            "train.log_every=1",
            f"train.ckpt_every={10**9}",
            f"train.num_workers={self.workers}",
            f"train.device={self.sizes.device}",
            f"train.batch_size={self.batch}",
            *more,
        ]

    def fresh_out(self) -> Path:
        """This attempt's run folder, emptied (``fit`` would resume from it)."""
        out = self.inputs.run(self.case, self.batch, self.workers)
        shutil.rmtree(out, ignore_errors=True)
        return out


def run_backbone(c: Child) -> tuple[History, dict[str, Any]]:
    """CVRL / MoDist on Kinetics-style clips + train movies; supervised on the clips' labels."""
    from movierep.recipes import cvrl, modist, supervised

    frames = f"data.frame_cache={c.inputs.frames}"
    if c.case == "supervised":
        cfg = supervised.resolve(c.sizes.profile, sets=c.sets(frames, "supervised.labels=class"))
        result = supervised.run(cfg, data=[c.inputs.kinetics], out=c.fresh_out())
    else:
        recipe: Any = {"cvrl": cvrl, "modist": modist}[c.case]
        cfg = recipe.resolve(c.sizes.profile, sets=c.sets(frames))
        result = recipe.run(cfg, data=[c.inputs.kinetics, c.inputs.corpus], out=c.fresh_out())
    d = cfg.data
    return result.history, {
        "arch": cfg.model.arch,
        "clip": f"{d.num_frames}x{d.frame_stride} at {d.crop_size}^2",
        "augment_on": d.augment_on,
    }


def run_txe(c: Child) -> tuple[History, dict[str, Any]]:
    """TxE mask prediction on sequences of synthetic event features."""
    from movierep.recipes import maskpred

    cfg = maskpred.resolve(c.sizes.profile, sets=c.sets())
    result = maskpred.run(cfg, features=[c.inputs.events], out=c.fresh_out())
    t = cfg.txe
    return result.history, {"txe": f"{t.num_layers} layers, {t.hidden_dim} wide, N={t.num_tokens}"}


def run_shot_adjacency(c: Child) -> tuple[History, dict[str, Any]]:
    """The shot-adjacency network on synthetic shot features, co-watch pairs."""
    from movierep import tables
    from movierep.recipes import moviesim
    from movierep.similarity.scene_pairs import pair_list

    cfg = moviesim.resolve(c.sizes.profile, sets=c.sets())
    out = c.fresh_out()
    result = moviesim.run(
        cfg, corpus=c.inputs.corpus, shot_features=c.inputs.shot_features, out=out
    )
    similar = [p for p in pair_list(tables.read_table(out / moviesim.PAIRS_FILE)) if p[0] != p[1]]
    items = len(similar) * (1 + cfg.pairs.negatives_per_positive)
    # the recipe caps its batch at the dataset's size; fit counts samples at cfg's batch
    return result.history, {"num_shots": cfg.net.num_shots, "loader_batch": min(c.batch, items)}


def run_scene_moco(c: Child) -> tuple[History, dict[str, Any]]:
    """Scene MoCo on synthetic ``P_scene`` pairs of real keyframes, from a fresh ViT."""
    from movierep.recipes import scenes

    cfg = scenes.resolve(c.sizes.profile, sets=c.sets())
    result = scenes.run(
        cfg, pairs=c.inputs.pairs, shots=c.inputs.shots, init=c.inputs.vit, out=c.fresh_out()
    )
    return result.history, {"shots_per_scene": cfg.data.shots_per_scene, "vit": c.sizes.vit}


def _role_tokens(c: Child) -> tuple[Any, int, str]:
    """Padded role-token sequences (E, L) of the corpus' VidSitu train events, vocabulary size."""
    import torch

    from movierep.data.benchmarks.vidsitu import load_vidsitu
    from movierep.tasks.protocols.role_text import RoleTokenizer
    from movierep.tasks.protocols.vidsitu_srl import role_sequences

    events = role_sequences(load_vidsitu(c.inputs.corpus / "vidsitu", "train"))
    tok = RoleTokenizer.build(events)
    seqs = [tok.encode(verb, roles) for verb, roles in events]
    tokens = torch.full((len(seqs), max(map(len, seqs))), tok.pad_id, dtype=torch.long)
    for i, s in enumerate(seqs):
        tokens[i, : len(s)] = torch.tensor(s)
    return tokens, len(tok), f"corpus VidSitu train roles ({len(seqs)} events)"


def run_txd(c: Child) -> tuple[History, dict[str, Any]]:
    """TxD's teacher-forced loss, timed as ``fit`` times a step (bf16 autocast on CUDA)."""
    import torch

    from movierep import dist
    from movierep.models.txd import TxD, TxDConfig
    from movierep.tasks.protocols.vidsitu_srl import CPU, SRLConfig

    cfg = SRLConfig() if c.sizes.profile == "paper" else CPU
    tokens, vocab, source = _role_tokens(c)
    g = torch.Generator().manual_seed(0)
    memory = torch.randn(len(tokens), 1, c.sizes.event_dim, generator=g)
    device = dist.device(c.sizes.device)
    torch.manual_seed(0)
    model = TxD(TxDConfig(
        vocab, c.sizes.event_dim, hidden_dim=cfg.hidden_dim, num_layers=cfg.num_layers,
        num_heads=cfg.num_heads, ffn_dim=cfg.ffn_dim, output_dim=cfg.output_dim,
        dropout=cfg.dropout, max_len=max(64, tokens.shape[1] + cfg.max_new_tokens),
        pad_id=0, vision=True,
    )).to(device)  # fmt: skip
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    use_bf16 = device.type == "cuda"
    history: History = []
    tic, waited = time.monotonic(), 0.0
    model.train()
    for step in range(1, c.sizes.steps + 1):
        fetched = time.monotonic()
        idx = torch.randint(len(tokens), (c.batch,), generator=g)
        x, m = tokens[idx].to(device, non_blocking=True), memory[idx].to(device, non_blocking=True)
        waited += time.monotonic() - fetched
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_bf16):
            loss = model.loss(x, m)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss is {loss.item()} at step {step}")
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()
        elapsed = time.monotonic() - tic
        history.append(
            {"step": step, "loss": float(loss.detach()), "samples_per_s": step * c.batch / elapsed,
             "data_wait_frac": waited / elapsed}
        )  # fmt: skip
    return history, {"vocab": vocab, "tokens": source, "width": tokens.shape[1]}


#: name -> (unit of one item, clips per item or None, runner).
CASES: dict[str, tuple[str, float | None, Callable[[Child], tuple[History, dict[str, Any]]]]] = {
    "cvrl": ("clip pairs", 2.0, run_backbone),
    "modist": ("clip pairs (+flow)", 2.0, run_backbone),
    "supervised": ("clips", 1.0, run_backbone),
    "txe": ("sequences", None, run_txe),
    "txd": ("event role sequences", None, run_txd),
    "shot_adjacency": ("movie pairs", None, run_shot_adjacency),
    "scene_moco": ("scene pairs", None, run_scene_moco),
}


def paper_batch(case: str, sizes: Sizes) -> int:
    """The profile's per-process batch (capped in the smoke run)."""
    from movierep.recipes import cvrl, maskpred, modist, moviesim, scenes, supervised
    from movierep.tasks.protocols.vidsitu_srl import CPU, SRLConfig

    if case == "txd":
        batch = (SRLConfig() if sizes.profile == "paper" else CPU).batch_size
    else:
        recipe: Any = {
            "cvrl": cvrl, "modist": modist, "supervised": supervised, "txe": maskpred,
            "shot_adjacency": moviesim, "scene_moco": scenes,
        }[case]  # fmt: skip
        batch = recipe.resolve(sizes.profile).train.batch_size
    return min(batch, sizes.batch_cap) if sizes.batch_cap else batch


def _is_oom(err: BaseException) -> bool:
    import torch

    text = str(err)
    return isinstance(err, torch.cuda.OutOfMemoryError) or any(
        s in text
        for s in ("CUDA out of memory", "CUBLAS_STATUS_ALLOC_FAILED", "CUDNN_STATUS_ALLOC")
    )


def child_main(c: Child, result_path: Path) -> None:
    """Run one attempt in this (fresh) process and write its result JSON."""
    import torch

    on_gpu = c.sizes.device == "cuda"
    if on_gpu:
        torch.cuda.reset_peak_memory_stats()
    res: dict[str, Any] = {"case": c.case, "batch": c.batch, "workers": c.workers}
    tic = time.monotonic()
    try:
        history, extra = CASES[c.case][2](c)
        res.update(status="ok", history=history, extra=extra)
    except BaseException as err:  # recorded; the parent carries on with the next case
        res["status"] = "oom" if _is_oom(err) else "error"
        res["error"] = f"{type(err).__name__}: {err}"[:1500]
        res["traceback"] = traceback.format_exc()[-3000:]
    res["wall_s"] = round(time.monotonic() - tic, 1)
    if on_gpu:
        res["peak_mem_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        res["peak_reserved_gib"] = round(torch.cuda.max_memory_reserved() / 2**30, 2)
    result_path.write_text(json.dumps(res) + "\n")


# ------------------------------------------------------------------------------ parent


def summarize(history: History, cfg_batch: int, loader_batch: int, steps: int) -> dict[str, Any]:
    """Steady step time vs wait time from per-step ``samples_per_s`` / ``data_wait_frac``.

    ``fit`` logs ``samples_per_s = step · B / elapsed`` and ``data_wait_frac = waited /
    elapsed`` (both since the first step), so each record gives that step's elapsed and
    waited seconds. The steady window leaves out the first quarter of the steps.
    """
    recs = {int(r["step"]): r for r in history if r.get("samples_per_s")}
    if not recs:
        return {}
    elapsed = {s: s * cfg_batch / float(r["samples_per_s"]) for s, r in recs.items()}
    waited = {s: float(r["data_wait_frac"]) * elapsed[s] for s, r in recs.items()}
    last = max(recs)
    first = max([s for s in recs if s <= max(1, steps // 4) and s < last], default=0)
    t0, w0 = (elapsed[first], waited[first]) if first else (0.0, 0.0)
    dt, dw, n = elapsed[last] - t0, waited[last] - w0, last - first
    losses = [float(r["loss"]) for s, r in sorted(recs.items()) if "loss" in r]
    share = dw / dt if dt > 0 else math.nan
    return {
        "steps": last,
        "steady_steps": n,
        "items_per_s": round(n * loader_batch / dt, 2) if dt > 0 else None,
        "step_s": round(dt / n, 4),
        "wait_s": round(dw / n, 4),
        "compute_s": round((dt - dw) / n, 4),
        "wait_share": round(share, 3),
        "loader_bound": bool(share > LOADER_BOUND),
        "run_items_per_s": round(last * loader_batch / elapsed[last], 2),
        "run_wait_share": round(float(recs[last]["data_wait_frac"]), 3),
        "first_step_s": round(elapsed[min(recs)] / min(recs), 3),
        "loss_first": round(losses[0], 4) if losses else None,
        "loss_last": round(losses[-1], 4) if losses else None,
    }


def _loader_crash(res: dict[str, Any]) -> bool:
    text = f"{res.get('error', '')} {res.get('traceback', '')}"
    return any(
        s in text
        for s in ("DataLoader worker", "shared memory", "Bus error", "/dev/shm", "torch_shm")
    )


def attempt(
    args: argparse.Namespace, case: str, batch: int, workers: int, timeout: float
) -> dict[str, Any]:
    """One attempt in a fresh subprocess (its own session: a timeout kills its workers too)."""
    inputs = Inputs(args.work)
    logs = args.work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stem = f"{case}_b{batch}_w{workers}"
    result_path = logs / f"{stem}.json"
    result_path.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", case]
    cmd += ["--batch", str(batch), "--workers", str(workers), "--work", str(inputs.work)]
    cmd += ["--steps", str(args.steps)]
    if args.smoke:
        cmd.append("--smoke")
    env = {**os.environ, "MOVIEREP_CACHE_DIR": str(inputs.frames.parent), "PYTHONUNBUFFERED": "1"}
    tic = time.monotonic()
    with (logs / f"{stem}.log").open("w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)  # fmt: skip
        try:
            code: int | None = proc.wait(timeout=max(timeout, 1.0))
        except subprocess.TimeoutExpired:
            code = None
        with contextlib.suppress(ProcessLookupError):  # its session: stray loader workers too
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    wall = round(time.monotonic() - tic, 1)
    if result_path.is_file():
        res: dict[str, Any] = json.loads(result_path.read_text())
    elif code is None:
        res = {"status": "timeout", "error": f"killed at the time budget after {wall} s"}
    else:
        tail = (logs / f"{stem}.log").read_text()[-1500:]
        res = {"status": "error", "error": f"exit code {code} without a result: {tail}"}
    res.update(batch=batch, workers=workers, process_wall_s=wall, log=str(logs / f"{stem}.log"))
    return res


def run_case(args: argparse.Namespace, sizes: Sizes, case: str, deadline: float) -> dict[str, Any]:
    """A case's attempts: halve the batch on OOM, drop the loader workers on a worker crash."""
    unit, clips_per_item, _ = CASES[case]
    batch = paper_batch(case, sizes)
    row: dict[str, Any] = {"case": case, "unit": unit, "paper_batch": batch, "attempts": []}
    workers = args.workers
    while True:
        left = deadline - time.monotonic()
        if left < sizes.min_start_s:
            row["status"] = "skipped" if not row["attempts"] else "out of time"
            row["error"] = f"{max(left, 0):.0f} s of the budget left (< {sizes.min_start_s:.0f} s)"
            return row
        res = attempt(args, case, batch, workers, left)
        row["attempts"].append(
            {k: res.get(k) for k in ("batch", "workers", "status", "process_wall_s", "error")}
        )
        print(f"  {case}: batch {batch}, workers {workers}: {res['status']} "
              f"({res['process_wall_s']} s)", flush=True)  # fmt: skip
        if res["status"] == "oom" and batch > 1:
            batch //= 2
            continue
        if res["status"] == "error" and workers > 0 and _loader_crash(res):
            workers = 0
            continue
        break
    row.update(status=res["status"], batch=batch, workers=workers, log=res.get("log"))
    ooms = [a["batch"] for a in row["attempts"] if a["status"] == "oom"]
    notes = [f"CUDA OOM at batch {', '.join(map(str, ooms))}"] if ooms else []
    if workers != args.workers:
        notes.append(f"loader workers crashed; ran with {workers} workers")
    row["notes"] = "; ".join(notes)
    for key in ("peak_mem_gib", "peak_reserved_gib", "error", "traceback", "extra"):
        if key in res:
            row[key] = res[key]
    if res["status"] != "ok" and res.get("log") and Path(res["log"]).is_file():
        row["log_tail"] = Path(res["log"]).read_text(errors="replace")[-2000:]
    if res["status"] == "ok":
        loader_batch = int(res.get("extra", {}).get("loader_batch", batch))
        row.update(summarize(res["history"], batch, loader_batch, args.steps))
        if clips_per_item and row.get("items_per_s") is not None:
            row["clips_per_s"] = round(row["items_per_s"] * clips_per_item, 1)
        row["per_step"] = [
            {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}
            for r in res["history"]
        ]
    return row


def environment(smoke: bool) -> dict[str, Any]:
    """Device name, torch / CUDA versions and the host (queried after every case ran)."""
    import torch

    env: dict[str, Any] = {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "cpus": cpu_count(),
        "dev_shm_gib": round(shutil.disk_usage("/dev/shm").total / 2**30, 1)
        if Path("/dev/shm").is_dir()
        else None,
    }
    if not smoke and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        env.update(
            device=torch.cuda.get_device_name(0),
            device_memory_gib=round(props.total_memory / 2**30, 1),
            cudnn=torch.backends.cudnn.version(),  # type: ignore[no-untyped-call]
            bf16_supported=torch.cuda.is_bf16_supported(),
        )
    else:
        env["device"] = f"cpu ({platform.processor() or platform.machine()})"
    return env


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown(rows: list[dict[str, Any]]) -> str:
    """The per-case table."""
    head = (
        "| case | status | batch (paper) | unit | items/s | clips/s | step s | wait s | "
        "wait share | loader | peak GiB | loss first → last |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for r in rows:
        batch = f"{r.get('batch', '-')} ({r['paper_batch']})"
        loader = "-" if "loader_bound" not in r else ("loader-bound" if r["loader_bound"] else "ok")
        loss = f"{_fmt(r.get('loss_first'), 3)} → {_fmt(r.get('loss_last'), 3)}"
        lines.append(
            f"| {r['case']} | {r['status']} | {batch} | {r['unit']} | {_fmt(r.get('items_per_s'))}"
            f" | {_fmt(r.get('clips_per_s'), 1)} | {_fmt(r.get('step_s'), 3)} | "
            f"{_fmt(r.get('wait_s'), 3)} | {_fmt(r.get('wait_share'))} | {loader} | "
            f"{_fmt(r.get('peak_mem_gib'))} | {loss} |"
        )
    return head + "\n".join(lines) + "\n"


def preflight(sizes: Sizes) -> str | None:
    """Why the run cannot start here (a missing package, no CUDA device), or None."""
    missing = [name for name in sizes.packages if importlib.util.find_spec(name) is None]
    if missing:
        return f"missing Python packages: {', '.join(missing)} (see the docstring)"
    if sizes.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            return "no CUDA device (use --smoke for the CPU run)"
    return None


def main(argv: list[str] | None = None) -> int:
    """Prepare the inputs, run every case within the budget, print the table, write JSON."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help=f"JSON (default {RESULTS})")
    parser.add_argument("--work", type=Path, default=REPO / "runs" / "gpu_check")
    parser.add_argument("--budget-s", type=float, default=450.0, help="total time budget")
    parser.add_argument("--smoke", action="store_true", help="CPU, tiny sizes, 2 steps")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--workers", type=int, default=None, help="loader workers per case")
    parser.add_argument("--only", nargs="*", default=None, choices=CASE_NAMES)
    parser.add_argument("--fresh", action="store_true", help="rebuild the inputs in --work")
    parser.add_argument("--child", choices=CASE_NAMES, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = SMOKE if args.smoke else GPU
    args.steps = args.steps or sizes.steps
    args.workers = sizes.workers if args.workers is None else args.workers
    args.work = args.work.resolve()
    sizes = Sizes(**{**asdict(sizes), "steps": args.steps})
    inputs = Inputs(args.work)
    if args.child:
        child = Child(args.child, args.batch, args.workers, sizes, inputs)
        child_main(child, args.work / "logs" / f"{args.child}_b{args.batch}_w{args.workers}.json")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)  # the result is written: skip teardown (loader workers, CUDA)

    start = time.monotonic()
    deadline = start + args.budget_s
    out = args.out or (RESULTS.with_name("gpu_check_smoke.json") if args.smoke else RESULTS)
    payload: dict[str, Any] = {
        "benchmark": "gpu_check",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "mode": "smoke (cpu)" if args.smoke else "gpu",
        "steps": args.steps,
        "budget_s": args.budget_s,
        "loader_bound_above": LOADER_BOUND,
    }
    problem = preflight(sizes)
    rows: list[dict[str, Any]] = []
    if problem:
        payload["error"] = problem
        print(problem, file=sys.stderr)
    else:
        print(f"preparing inputs in {args.work} ...", flush=True)
        try:
            payload["prepare"] = prepare(inputs, sizes, args.fresh)
        except Exception as err:  # the cases whose inputs exist may still run
            payload["prepare_error"] = f"{type(err).__name__}: {err}"
            traceback.print_exc()
        payload["prepare_wall_s"] = round(time.monotonic() - start, 1)
        print(f"inputs ready after {payload['prepare_wall_s']} s", flush=True)
        for case in CASE_NAMES:
            if args.only and case not in args.only:
                continue
            rows.append(run_case(args, sizes, case, deadline))
    payload["environment"] = environment(args.smoke)
    payload["total_s"] = round(time.monotonic() - start, 1)
    payload["cases"] = rows
    table = markdown(rows)
    print(f"\n{payload['environment']['device']}, torch {payload['environment']['torch']}, "
          f"CUDA {payload['environment']['cuda']}, {payload['total_s']} s\n")  # fmt: skip
    print(table)
    for r in rows:
        if r.get("notes"):
            print(f"{r['case']}: {r['notes']}")
        if r.get("error"):
            print(f"{r['case']}: {r['status']}: {r['error'][:300]}")
    payload["markdown"] = table
    out.parent.mkdir(parents=True, exist_ok=True)
    from movierep import files  # strict JSON: a NaN is written as null

    files.write_json(out, payload, indent=1)
    print(f"wrote {out}")
    return 2 if problem else 0


if __name__ == "__main__":
    sys.exit(main())

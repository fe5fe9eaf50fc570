import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from safetensors.torch import load_file

from movierep.checkpoint import save_checkpoint
from movierep.cli import main
from movierep.features.contextualize import contextualize
from movierep.models.slow_d import slow_d_tiny
from movierep.models.txe import TxE, TxEConfig
from movierep.tables import EVENTS, embedding_array, read_table, to_numpy_embeddings, write_table


def features_file(path: Path, movies: int = 3, events: int = 12, dim: int = 8) -> Path:
    rng = np.random.default_rng(0)
    rows = [(f"m{m}", i) for m in range(movies) for i in range(events)]
    return write_table(
        path,
        pa.table(
            {
                "movie_id": [m for m, _ in rows],
                "event_index": pa.array([i for _, i in rows], pa.int32()),
                "start_time": [2.0 * i for _, i in rows],
                "end_time": [2.0 * i + 2 for _, i in rows],
                "feature": embedding_array(rng.normal(size=(len(rows), dim)).astype(np.float32)),
            }
        ),
    )


TINY = [
    "--profile", "cpu",
    "--set", "train.batch_size=4",
    "--set", "train.device=cpu",
    "--set", "train.log_every=1",
    "--set", "train.ckpt_every=2",
    "--set", "maskpred.queue_size=32",
    "--set", "txe.hidden_dim=16",
    "--set", "txe.num_heads=2",
]  # fmt: skip


def test_train_resume_and_contextualize(tmp_path: Path) -> None:
    a = features_file(tmp_path / "vidsitu.parquet")
    b = features_file(tmp_path / "lvu.parquet", movies=2, events=20)
    out = tmp_path / "run"
    argv = ["train", "contextualizer", "--features", str(a), str(b), "--out", str(out), *TINY]
    assert main([*argv, "--steps", "3", "--seed", "1"]) == 0
    meta = json.loads((out / "last" / "config.json").read_text())
    assert meta["arch"] == "txe"
    assert meta["step"] == 3
    assert meta["model_kwargs"]["input_dim"] == 8
    assert meta["run_config"]["train"]["seed"] == 1
    assert (out / "config.json").is_file()
    assert (out / "last" / "objective.safetensors").is_file()
    assert main([*argv, "--steps", "5", "--seed", "1"]) == 0  # resumes at step 3
    meta = json.loads((out / "last" / "config.json").read_text())
    assert meta["step"] == 5
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5]
    assert {"loss", "acc", "queue_filled"} <= set(records[-1])
    table = contextualize(read_table(a), out / "last")
    assert table["context_feature"].type.list_size == 8


def test_ablation_options(tmp_path: Path) -> None:
    feats = features_file(tmp_path / "f.parquet", events=30)
    sets = [
        "--set", "maskpred.mask_sizes=[1,2]",
        "--set", "maskpred.sampling=max_discrepancy",
        "--set", "maskpred.loss=l2",
        "--set", "data.token_stride=4",
        "--set", "data.windows=non_overlapping",
    ]  # fmt: skip
    out = tmp_path / "run"
    argv = ["train", "contextualizer", "--features", str(feats), "--out", str(out), "--steps", "2"]
    assert main([*argv, *TINY, *sets]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["maskpred"]["mask_sizes"] == [1, 2]
    assert cfg["data"]["token_stride"] == 4.0


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "table not found"),
        ("mixed", "different sizes"),
        ("tiny", "fewer than one global batch"),
        ("stride", "not a multiple"),
    ],
)
def test_bad_input_is_one_line_error(
    tmp_path: Path, setup: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [features_file(tmp_path / "a.parquet")]
    extra: list[str] = []
    if setup == "missing":
        files = [tmp_path / "nope.parquet"]
    elif setup == "mixed":
        files.append(features_file(tmp_path / "b.parquet", dim=4))
    elif setup == "tiny":
        files = [features_file(tmp_path / "c.parquet", movies=1, events=6)]
    else:
        extra = ["--set", "data.token_stride=3"]
    argv = ["train", "contextualizer", "--features", *map(str, files), "--out", str(tmp_path / "o")]
    assert main(argv + TINY + extra + ["--steps", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("movierep: error:")
    assert message in err
    assert "\n" not in err


@pytest.mark.ddp
@pytest.mark.slow
def test_torchrun_two_ranks_fill_one_shared_queue(tmp_path: Path) -> None:
    feats = features_file(tmp_path / "f.parquet", movies=4, events=12)
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    args = ["-m", "movierep", "train", "contextualizer", "--features", str(feats)]
    tiny = [a.replace("queue_size=32", "queue_size=256") for a in TINY]
    args += ["--out", str(out), "--steps", "3", *tiny]
    proc = subprocess.run([*launch, *args], env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    state = load_file(str(out / "last" / "objective.safetensors"))
    # 3 steps x 2 ranks x (4 sequences x 5 events), gathered before every push
    assert int(state["queue.filled"]) == 120
    assert int(state["queue.ptr"]) == 120


def tiny_video(path: Path, seconds: int = 6, fps: int = 25) -> Path:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        rng = np.random.default_rng(0)
        for i in range(seconds * fps):
            level = (i // (2 * fps)) * 80  # a different picture every 2 s event
            img = np.clip(rng.normal(level, 20, size=(64, 64, 3)), 0, 255).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_extract_events_adds_context_features(tmp_path: Path) -> None:
    video = tiny_video(tmp_path / "clip.mp4")
    events = pa.Table.from_pylist(
        [
            {"movie_id": "clip", "event_index": i, "start_time": 2.0 * i,
             "end_time": 2.0 * i + 2, "video_path": str(video)}
            for i in range(3)
        ],
        schema=EVENTS,
    )  # fmt: skip
    write_table(tmp_path / "events.parquet", events)
    backbone = slow_d_tiny()
    save_checkpoint(tmp_path / "backbone", backbone, "slow_d", backbone.model_kwargs)
    txe = TxE(TxEConfig(input_dim=backbone.feature_dim, hidden_dim=16, num_layers=1, num_heads=2))
    kwargs = {"input_dim": backbone.feature_dim, "hidden_dim": 16, "num_layers": 1, "num_heads": 2}
    save_checkpoint(tmp_path / "txe", txe, "txe", kwargs)
    out = tmp_path / "feats.parquet"
    argv = ["extract", "events", "--backbone", str(tmp_path / "backbone")]
    argv += ["--events", str(tmp_path / "events.parquet"), "--out", str(out), "--device", "cpu"]
    argv += ["--num-frames", "8", "--frame-stride", "2", "--crop-size", "32"]
    assert main([*argv, "--contextualizer", str(tmp_path / "txe")]) == 0
    table = read_table(out)
    context = to_numpy_embeddings(table["context_feature"])
    assert context.shape == (3, backbone.feature_dim)
    expected = contextualize(table.drop(["context_feature"]), txe)["context_feature"]
    np.testing.assert_allclose(context, to_numpy_embeddings(expected), rtol=1e-4, atol=1e-5)
    assert main([*argv, "--contextualizer", str(tmp_path / "nope")]) == 2


def test_kill_9_after_a_checkpoint_then_rerun_equals_the_uninterrupted_run(tmp_path: Path) -> None:
    """The issue's scenario on the real command: SIGKILL the process once a checkpoint is
    written, rerun it, and get the weights and loss curve of a run that never stopped."""
    import signal
    import time

    feats = features_file(tmp_path / "f.parquet", movies=4, events=40)
    tiny = [a.replace("ckpt_every=2", "ckpt_every=100") for a in TINY]
    argv = ["train", "contextualizer", "--features", str(feats), *tiny, "--steps", "400"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # the same float reductions in every run

    def start(out: Path) -> subprocess.Popen[bytes]:
        cmd = [sys.executable, "-m", "movierep", *argv, "--out", str(out)]
        return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    full, part = tmp_path / "full", tmp_path / "part"
    assert start(full).wait() == 0
    proc = start(part)
    killed_at, deadline = None, time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            step = json.loads((part / "last" / "config.json").read_text())["step"]
        except (OSError, ValueError):
            step = 0
        if 0 < step < 400:
            proc.send_signal(signal.SIGKILL)
            killed_at = step
            break
        time.sleep(0.005)
    proc.wait()
    assert killed_at is not None, "the run ended before a checkpoint could be caught"
    assert start(part).wait() == 0
    full_w = load_file(str(full / "last" / "objective.safetensors"))
    part_w = load_file(str(part / "last" / "objective.safetensors"))
    assert full_w.keys() == part_w.keys()
    assert all(np.array_equal(full_w[k].numpy(), part_w[k].numpy()) for k in full_w)

    def curve(out: Path) -> list[float]:
        return [json.loads(x)["loss"] for x in (out / "metrics.jsonl").read_text().splitlines()]

    assert len(curve(part)) == 400
    assert curve(part) == curve(full)

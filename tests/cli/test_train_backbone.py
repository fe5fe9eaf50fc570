import json

import numpy as np
import pytest
import torch

from movierep import tables
from movierep.checkpoint import read_config
from movierep.cli import main
from movierep.models import load_pretrained

SMALL = [
    "--profile", "cpu",
    "--set", "train.batch_size=4",
    "--set", "data.num_frames=4",
    "--set", "data.crop_size=32",
    "--set", "train.log_every=1",
]  # fmt: skip


def write_video(path, num_frames=75, fps=25, size=(48, 64), seed=0):
    import av

    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.height, stream.width = size
        stream.pix_fmt = "yuv420p"
        colour = rng.integers(0, 255, size=3)
        for t in range(num_frames):
            img = np.full((*size, 3), colour, np.uint8)
            img[8:16, (2 * t) % 56 : (2 * t) % 56 + 8] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("videos")
    for i in range(4):
        write_video(root / f"v{i}.mp4", seed=i)
    return root


@pytest.fixture(scope="module")
def kinetics(tmp_path_factory):
    root = tmp_path_factory.mktemp("kinetics")
    lines = ["label,youtube_id,time_start,time_end,split"]
    for c, label in enumerate(("clap", "wave")):
        for j in range(2):
            write_video(root / label / f"y{c}{j}_000000_000003.mp4", seed=10 * c + j)
            lines.append(f"{label},y{c}{j},0,3,train")
    (root / "train.csv").write_text("\n".join(lines) + "\n")
    return root


@pytest.mark.slow
def test_cvrl_trains_resumes_and_continues_from_init(videos, tmp_path, capsys):
    out = tmp_path / "cvrl"
    args = ["train", "backbone", "--method", "cvrl", "--data", str(videos), "--out", str(out)]
    assert main([*args, "--steps", "2", *SMALL]) == 0
    assert "trained 2 steps" in capsys.readouterr().out
    meta = read_config(out / "last")
    assert meta["arch"] == "slow_d" and meta["step"] == 2
    assert meta["run_config"]["data"]["num_frames"] == 4
    assert json.loads((out / "config.json").read_text())["model"]["arch"] == "slow_d_tiny"
    assert load_pretrained(out / "last").feature_dim == 256
    # Resume: the same folder with more steps continues from step 2.
    assert main([*args, "--steps", "3", *SMALL]) == 0
    records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3]
    assert np.isfinite(records[-1]["loss"])
    # "K400 then K400+VS": a new run starting from that backbone.
    init_args = ["--init", str(out / "last"), "--out", str(tmp_path / "second")]
    assert main([*args[:-2], *init_args, "--steps", "1", *SMALL]) == 0
    assert read_config(tmp_path / "second" / "last")["run_config"]["init"] == str(out / "last")


@pytest.mark.slow
def test_modist_and_supervised_smoke(videos, kinetics, tmp_path, frame_cache_dir):
    base = ["train", "backbone", "--steps", "1", *SMALL]
    modist = ["--method", "modist", "--data", str(videos), "--out", str(tmp_path / "m")]
    assert main([*base, *modist]) == 0
    # flow is computed once per video, in the decoded-frame cache beside its frames
    assert list((frame_cache_dir / "frames").rglob("flow-*.npy"))
    off = ["--set", "data.frame_cache=decode", "--out", str(tmp_path / "m_off")]
    assert main([*base, *modist[:-2], *off]) == 0
    assert (tmp_path / "m_off" / "flow_cache").is_dir()  # the decode path: flow per clip
    sup = ["--method", "supervised", "--data", str(kinetics), "--out", str(tmp_path / "s")]
    assert main([*base, *sup]) == 0
    record = json.loads((tmp_path / "s" / "metrics.jsonl").read_text().splitlines()[-1])
    assert 0.0 <= record["acc"] <= 1.0


@pytest.mark.slow
def test_extract_events_cli(videos, tmp_path, capsys):
    ckpt = tmp_path / "c"
    train = ["train", "backbone", "--method", "cvrl", "--data", str(videos), "--out", str(ckpt)]
    assert main([*train, "--steps", "1", *SMALL]) == 0
    out = tmp_path / "feats.parquet"
    clips = sorted(videos.glob("*.mp4"))[:2]
    argv = ["extract", "events", "--backbone", str(ckpt / "last"), "--videos", *map(str, clips)]
    assert main([*argv, "--out", str(out)]) == 0
    table = tables.read_table(out)
    assert set(table.column("movie_id").to_pylist()) == {"v0", "v1"}
    assert "wrote" in capsys.readouterr().out


def test_user_errors_exit_2(videos, tmp_path, capsys):
    base = ["train", "backbone", "--method", "cvrl", "--out", str(tmp_path / "x"), *SMALL]
    assert main([*base, "--data", str(tmp_path / "missing")]) == 2
    assert "not a folder" in capsys.readouterr().err
    big = [a.replace("batch_size=4", "batch_size=64") for a in base]
    assert main([*big, "--data", str(videos)]) == 2
    assert "global batch" in capsys.readouterr().err
    assert main([*base, "--data", str(videos), "--set", "cvrl.nope=1"]) == 2
    assert "unknown key" in capsys.readouterr().err


class Killed(BaseException):
    """Stands in for kill -9 right after a checkpoint (nothing after it runs)."""


def kill_after_checkpoint(monkeypatch: pytest.MonkeyPatch, step: int) -> None:
    from movierep.train import loop

    save = loop._save

    def save_then_die(*args, **kwargs):
        path = save(*args, **kwargs)
        if args[4] == step:  # _save(path, objective, export, optimizer, step, ...)
            raise Killed
        return path

    monkeypatch.setattr(loop, "_save", save_then_die)


def weights(ckpt):
    from safetensors.torch import load_file

    return load_file(str(ckpt / "objective.safetensors"))


def losses(out):
    return [json.loads(x)["loss"] for x in (out / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["cvrl", "modist", "supervised"])
def test_resume_after_a_kill_equals_the_uninterrupted_run(
    method, videos, kinetics, tmp_path, monkeypatch
):
    """Weights, queues, heads and the loss curve of a run killed mid-epoch and resumed are
    bit-identical to a run that never stopped (data order, augmentation draws, dropout)."""
    data = kinetics if method == "supervised" else videos
    small = [a.replace("batch_size=4", "batch_size=2") for a in SMALL]
    args = ["train", "backbone", "--method", method, "--data", str(data), *small]
    args += ["--set", "data.segment_s=1.0", "--steps", "5"]
    args += ["--set", "train.ckpt_every=3", "--set", "train.num_workers=1"]
    assert main([*args, "--out", str(tmp_path / "full")]) == 0
    kill_after_checkpoint(monkeypatch, step=3)  # step 3 is inside the second epoch
    with pytest.raises(Killed):
        main([*args, "--out", str(tmp_path / "part")])
    monkeypatch.undo()
    assert read_config(tmp_path / "part" / "last")["step"] == 3
    assert main([*args, "--out", str(tmp_path / "part")]) == 0
    assert losses(tmp_path / "part") == losses(tmp_path / "full")
    full, part = weights(tmp_path / "full" / "last"), weights(tmp_path / "part" / "last")
    assert full.keys() == part.keys()
    assert all(torch.equal(full[k], part[k]) for k in full)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["cvrl", "modist"])
def test_cached_frames_and_batch_augmentation_train_as_decoding(method, videos, tmp_path):
    """The input pipeline's two paths (decode each clip and augment it in the loader; the
    frame cache and augmentation of the batch in the training process) draw the same clips
    with the same augmentations: the loss curves agree to float precision."""
    args = ["train", "backbone", "--method", method, "--data", str(videos), *SMALL]
    args += ["--set", "data.segment_s=1.0", "--steps", "3"]
    old = ["--set", "data.frame_cache=decode", "--set", "data.augment_on=worker"]
    assert main([*args, *old, "--out", str(tmp_path / "old")]) == 0
    assert main([*args, "--out", str(tmp_path / "new")]) == 0
    np.testing.assert_allclose(losses(tmp_path / "new"), losses(tmp_path / "old"), rtol=1e-4)

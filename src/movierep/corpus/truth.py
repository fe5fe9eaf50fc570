"""Ground-truth tables of one movie, straight from its script and staging.

Each ``*_rows`` function returns plain column lists for one movie; :class:`TruthTables`
accumulates them over movies and builds the Arrow tables of ``truth/`` and
``moderation.parquet`` (column meanings in ``CORPUS.md``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pyarrow as pa

from movierep.corpus.script import MovieScript
from movierep.corpus.sprites import UNIT_SHAPES
from movierep.corpus.staging import Staging, camera_windows, frame_boxes
from movierep.corpus.vocab import MODERATION, MODERATION_VERBS, NO_TALK

#: Verbs whose Arg2 is the direction of travel.
DIRECTED_VERBS = frozenset({"walk", "run", "flee", "chase", "push"})
CLIP_EVENTS = 5  # a moderation clip is 10 s = 5 events

SCHEMAS: dict[str, pa.Schema] = {
    "shots": pa.schema(
        [
            ("movie_id", pa.string()),
            ("shot_index", pa.int32()),
            ("start_frame", pa.int64()),
            ("end_frame", pa.int64()),
            ("start_time", pa.float64()),
            ("end_time", pa.float64()),
            ("scene_index", pa.int32()),
            ("transition_in", pa.string()),
            ("camera", pa.string()),
        ]
    ),
    "scenes": pa.schema(
        [
            ("movie_id", pa.string()),
            ("scene_index", pa.int32()),
            ("start_shot", pa.int32()),
            ("end_shot", pa.int32()),
            ("start_frame", pa.int64()),
            ("end_frame", pa.int64()),
            ("start_time", pa.float64()),
            ("end_time", pa.float64()),
            ("place", pa.string()),
            ("way_speaking", pa.string()),
            ("characters", pa.list_(pa.string())),
        ]
    ),
    "events": pa.schema(
        [
            ("movie_id", pa.string()),
            ("event_index", pa.int32()),
            ("start_time", pa.float64()),
            ("end_time", pa.float64()),
            ("scene_index", pa.int32()),
            ("verb", pa.string()),
            ("arg0_id", pa.string()),
            ("arg1_id", pa.string()),
            ("arg2_id", pa.string()),
            ("arg0", pa.string()),
            ("arg1", pa.string()),
            ("arg2", pa.string()),
            ("argm_manner", pa.string()),
            ("place", pa.string()),
        ]
    ),
    "event_links": pa.schema(
        [
            ("movie_id", pa.string()),
            ("src_event", pa.int32()),
            ("dst_event", pa.int32()),
            ("relation", pa.string()),
        ]
    ),
    "characters": pa.schema(
        [
            ("movie_id", pa.string()),
            ("character_id", pa.string()),
            ("shape", pa.string()),
            ("color", pa.string()),
            ("size", pa.string()),
            ("description", pa.string()),
        ]
    ),
    "boxes": pa.schema(
        [
            ("movie_id", pa.string()),
            ("frame", pa.int64()),
            ("character_id", pa.string()),
            ("x1", pa.float32()),
            ("y1", pa.float32()),
            ("x2", pa.float32()),
            ("y2", pa.float32()),
        ]
    ),
    "moderation": pa.schema(
        [
            ("clip_id", pa.string()),
            ("movie_id", pa.string()),
            ("start_time", pa.float64()),
            ("end_time", pa.float64()),
            ("label", pa.string()),
        ]
    ),
}

Columns = dict[str, Any]  # column name -> list or 1-D array of values


def shot_rows(script: MovieScript) -> Columns:
    """One row per shot."""
    mid, fps = script.meta.movie_id, script.fps
    shots = script.shots
    return {
        "movie_id": [mid] * len(shots),
        "shot_index": [s.index for s in shots],
        "start_frame": [s.start_frame for s in shots],
        "end_frame": [s.end_frame for s in shots],
        "start_time": [s.start_frame / fps for s in shots],
        "end_time": [s.end_frame / fps for s in shots],
        "scene_index": [s.scene_index for s in shots],
        "transition_in": [s.transition_in for s in shots],
        "camera": [s.camera.describe(script.cast) for s in shots],
    }


def scene_rows(script: MovieScript) -> Columns:
    """One row per scene; ``way_speaking`` is ``none`` when the scene has no talk event."""
    mid, fpe, fps = script.meta.movie_id, script.frames_per_event, script.fps
    cols: Columns = {name: [] for name in SCHEMAS["scenes"].names}
    for scene in script.scenes:
        shots = [s.index for s in script.shots if s.scene_index == scene.index]
        events = script.events[scene.start_event : scene.start_event + scene.num_events]
        talks = any(e.verb == "talk" for e in events)
        start, end = scene.start_event * fpe, (scene.start_event + scene.num_events) * fpe
        row = {
            "movie_id": mid,
            "scene_index": scene.index,
            "start_shot": shots[0],
            "end_shot": shots[-1],
            "start_frame": start,
            "end_frame": end,
            "start_time": start / fps,
            "end_time": end / fps,
            "place": scene.place,
            "way_speaking": scene.way_speaking if talks else NO_TALK,
            "characters": [script.cast[c].character_id for c in scene.characters],
        }
        for key, value in row.items():
            cols[key].append(value)
    return cols


def event_rows(script: MovieScript, staging: Staging) -> Columns:
    """One row per 2 s event with its semantic roles as text."""
    cols: Columns = {name: [] for name in SCHEMAS["events"].names}
    cast = script.cast
    for event, direction in zip(script.events, staging.directions, strict=True):
        scene = script.scenes[event.scene_index]
        arg2 = None
        if event.verb in DIRECTED_VERBS and direction:
            arg2 = "to the right" if direction > 0 else "to the left"
        patient = cast[event.patient] if event.patient is not None else None
        row = {
            "movie_id": script.meta.movie_id,
            "event_index": event.index,
            "start_time": 2.0 * event.index,
            "end_time": 2.0 * (event.index + 1),
            "scene_index": event.scene_index,
            "verb": event.verb,
            "arg0_id": cast[event.agent].character_id,
            "arg1_id": patient.character_id if patient else None,
            "arg2_id": None,
            "arg0": cast[event.agent].description,
            "arg1": patient.description if patient else None,
            "arg2": arg2,
            "argm_manner": scene.way_speaking if event.verb == "talk" else None,
            "place": scene.place,
        }
        for key, value in row.items():
            cols[key].append(value)
    return cols


def link_rows(script: MovieScript) -> Columns:
    """One row per causal link (src < dst, same scene, at most 2 events apart)."""
    links = script.links
    return {
        "movie_id": [script.meta.movie_id] * len(links),
        "src_event": [link.src for link in links],
        "dst_event": [link.dst for link in links],
        "relation": [link.relation for link in links],
    }


def character_rows(script: MovieScript) -> Columns:
    """One row per cast member."""
    cast = script.cast
    return {
        "movie_id": [script.meta.movie_id] * len(cast),
        "character_id": [c.character_id for c in cast],
        "shape": [c.shape for c in cast],
        "color": [c.color for c in cast],
        "size": [c.size for c in cast],
        "description": [c.description for c in cast],
    }


def box_rows(script: MovieScript, staging: Staging) -> Columns:
    """Per-frame boxes of the visible characters, in the camera of the frame's shot."""
    ids = [c.character_id for c in script.cast]
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for shot in script.shots:
        scene = script.scenes[shot.scene_index]
        start = shot.start_frame - scene.start_event * script.frames_per_event
        n = shot.end_frame - shot.start_frame
        poses = staging.poses[shot.scene_index][start : start + n]
        radii = staging.radii[list(scene.characters)]
        units = [UNIT_SHAPES[script.cast[c].shape] for c in scene.characters]
        windows = camera_windows(shot, script, staging)
        boxes, keep = frame_boxes(poses, radii, units, windows, staging)
        t, k = np.nonzero(keep)
        members = np.array(scene.characters)
        parts.append((shot.start_frame + t, members[k], boxes[t, k]))
    frames = np.concatenate([p[0] for p in parts])
    who = np.concatenate([p[1] for p in parts])
    xyxy = np.concatenate([p[2] for p in parts])
    return {
        "movie_id": [script.meta.movie_id] * len(frames),
        "frame": frames.astype(np.int64),
        "character_id": [ids[i] for i in who],
        "x1": xyxy[:, 0],
        "y1": xyxy[:, 1],
        "x2": xyxy[:, 2],
        "y2": xyxy[:, 3],
    }


def moderation_label(verbs: list[str]) -> str:
    """The clip label: the content class with the most events (ties in MODERATION order)."""
    counts = Counter(
        label for verb in verbs for label, vs in MODERATION_VERBS.items() if verb in vs
    )
    if not counts:
        return "none"
    return max(MODERATION[:-1], key=lambda label: (counts[label], -MODERATION.index(label)))


def moderation_rows(script: MovieScript) -> Columns:
    """Consecutive 10 s clips (the last one may be shorter, at least 2 events)."""
    cols: Columns = {name: [] for name in SCHEMAS["moderation"].names}
    events = script.events
    for k, start in enumerate(range(0, len(events), CLIP_EVENTS)):
        chunk = events[start : start + CLIP_EVENTS]
        if len(chunk) < 2:
            break
        cols["clip_id"].append(f"{script.meta.movie_id}_{k:04d}")
        cols["movie_id"].append(script.meta.movie_id)
        cols["start_time"].append(2.0 * start)
        cols["end_time"].append(2.0 * (start + len(chunk)))
        cols["label"].append(moderation_label([e.verb for e in chunk]))
    return cols


class TruthTables:
    """Accumulate per-movie rows and build the Arrow tables (one per :data:`SCHEMAS` name)."""

    def __init__(self) -> None:
        self.parts: dict[str, list[pa.Table]] = {name: [] for name in SCHEMAS}

    def add_movie(self, script: MovieScript, staging: Staging) -> None:
        """Add every table's rows for one movie."""
        rows = {
            "shots": shot_rows(script),
            "scenes": scene_rows(script),
            "events": event_rows(script, staging),
            "event_links": link_rows(script),
            "characters": character_rows(script),
            "boxes": box_rows(script, staging),
            "moderation": moderation_rows(script),
        }
        for name, cols in rows.items():
            self.parts[name].append(pa.table(cols, schema=SCHEMAS[name]))

    def extend(self, other: TruthTables) -> None:
        """Append another accumulator's rows (e.g. a movie rendered in a worker process)."""
        for name, parts in other.parts.items():
            self.parts[name].extend(parts)

    def table(self, name: str) -> pa.Table:
        """All movies' rows of one table."""
        if not self.parts[name]:
            return SCHEMAS[name].empty_table()
        return pa.concat_tables(self.parts[name]).combine_chunks()

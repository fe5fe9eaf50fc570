r"""Export the corpus as LVU (Wu & Krähenbühl, CVPR 2021): 1–3 minute clips with nine labels.

Layout (``shared/benchmarks/lvu_movienet.md`` §A.2 and the "Decisions" of ``benchmarks.md``)::

    lvu/lvu_1.0/<task>/{train,val,test}.csv   space-separated, one header line (3 variants)
    lvu/lvu_1.0/lvu_durations.csv             videoid,duration (integer seconds)
    lvu/videos/<youtube_id>.mp4               the clip (movie's frame rate and size)
    lvu/instance_meta.json                    1 fps boxes for the Object Transformer
    lvu/clip_sources.json                     where each clip comes from (movie, frames)

Clips: a movie of duration D >= 60 s is cut into n = max(1, round(D / 120)) clips of about
D / n seconds (so 60–180 s), each cut moved to the nearest shot start; a movie shorter
than 60 s gives one clip, the whole movie. Each clip's 11-character id comes from its movie
id and index; its split is the movie's catalog split; the last column is the movie's
``tt`` id.

Labels from the truth tables: ``scene`` is the place covering most of the clip's frames,
``way_speaking`` the clip's dominant way of speaking (same rule), ``relationship``,
``director``, ``writer`` (``\N`` when unknown), ``year`` (decade start) and ``genre`` come
from the catalog, ``like_ratio`` writes ``like_count dislike_count`` and ``view_count`` the
view count. A clip without any talk has no way of speaking and is left out of
``way_speaking`` (LVU's tasks cover different videos too). Class ids follow the order of
``corpus.json``'s class lists (``places``, ``ways_speaking``, ``relationships``,
``directors``, ``writers``, ``decades``, ``genres``; so the first six places keep LVU's
scene ids), names missing from a list come after it sorted, and ``\N`` is class 0 when some
writer is unknown; spaces in names become ``_``. Rows are sorted by class id, then id (as
LVU's own files).

``instance_meta.json`` is LVU's ``instance_meta_<task>.pkl`` as JSON, one file for all
tasks: ``{video_id: {second: {"x1,y1,x2,y2": [shot_index, link_id]}}}`` with the box
normalised to [0, 1] (3 decimals), taken at the middle frame of each second of the clip;
``shot_index`` counts the clip's shots from 0 and ``link_id`` numbers the (shot,
character) tracklets of the clip in order of first appearance.
"""

from __future__ import annotations

import itertools
import json
import re
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from movierep import files
from movierep.corpus.export.cut import ClipRequest
from movierep.corpus.export.ids import imdb_ids, youtube_id
from movierep.corpus.export.source import SPLITS, CorpusSource, Movie, Scene, Shot
from movierep.data.benchmarks.lvu import CLASSIFICATION_TASKS, HEADERS, LVU_TASKS, UNKNOWN_WRITER

MIN_CLIP_S = 60.0
NO_TALK = "none"  # way of speaking of a scene without talk: such clips skip way_speaking
# corpus.json class list that fixes each task's class ids (LVU's order for the first ones)
VOCABULARY_OF = {
    "relationship": "relationships",
    "way_speaking": "ways_speaking",
    "scene": "places",
    "director": "directors",
    "writer": "writers",
    "genre": "genres",
    "year": "decades",
}
TARGET_CLIP_S = 120.0


@dataclass(frozen=True)
class LVUClipPlan:
    """One LVU "video": frames ``[start_frame, end_frame)`` of ``movie``."""

    movie: Movie
    video_id: str
    start_frame: int
    end_frame: int
    request: ClipRequest


def plan_clips(source: CorpusSource, out_dir: Path) -> list[LVUClipPlan]:
    """Cut every movie into 1–3 minute clips (whole movie when shorter than a minute)."""
    plans = []
    for movie in source.movies:
        n = max(1, round(movie.duration_s / TARGET_CLIP_S)) if movie.duration_s >= MIN_CLIP_S else 1
        starts = [s.start_frame for s in source.shots.get(movie.movie_id, [])]
        cuts = [0] + [_snap(i * movie.num_frames // n, starts) for i in range(1, n)]
        cuts.append(movie.num_frames)
        for k, (a, b) in enumerate(itertools.pairwise(cuts)):
            if b <= a:
                continue
            vid = youtube_id(f"lvu/{movie.movie_id}/{k}")
            request = ClipRequest(out_dir / "videos" / f"{vid}.mp4", a, b)
            plans.append(LVUClipPlan(movie, vid, a, b, request))
    return plans


def write_annotations(source: CorpusSource, plans: list[LVUClipPlan], out_dir: Path) -> None:
    """Write the nine tasks' label files, durations, instance metadata and clip sources."""
    imdb = imdb_ids(m.movie_id for m in source.movies)
    labels = {p.video_id: _labels(source, p) for p in plans}
    root = out_dir / "lvu_1.0"
    for task in LVU_TASKS:
        labelled = [p for p in plans if task in labels[p.video_id]]
        classes = _class_ids(
            task, [labels[p.video_id][task] for p in labelled], source.vocabularies
        )
        for split in SPLITS:
            rows = []
            for p in labelled:
                if p.movie.split != split:
                    continue
                value, tail = labels[p.video_id][task], f"{p.video_id} {imdb[p.movie.movie_id]}"
                if task in CLASSIFICATION_TASKS:
                    rows.append((classes[value], p.video_id, f"{classes[value]} {value} {tail}"))
                else:
                    rows.append((0, p.video_id, f"{value} {tail}"))
            lines = [HEADERS[task]] + [line for *_, line in sorted(rows)]
            files.write_text(root / task / f"{split}.csv", "\n".join(lines) + "\n")
    durations = sorted(
        (p.video_id, round((p.end_frame - p.start_frame) / p.movie.fps)) for p in plans
    )
    files.write_text(
        root / "lvu_durations.csv",
        "".join(["videoid,duration\n"] + [f"{v},{d}\n" for v, d in durations]),
    )
    meta = {p.video_id: _instances(source, p) for p in sorted(plans, key=lambda p: p.video_id)}
    files.write_text(out_dir / "instance_meta.json", json.dumps(meta) + "\n")
    sources = [
        {
            "youtube_id": p.video_id,
            "movie_id": p.movie.movie_id,
            "imdb_id": imdb[p.movie.movie_id],
            "split": p.movie.split,
            "start_frame": p.start_frame,
            "end_frame": p.end_frame,
            "fps": p.movie.fps,
            "start_time": p.start_frame / p.movie.fps,
            "end_time": p.end_frame / p.movie.fps,
        }
        for p in plans
    ]
    files.write_text(out_dir / "clip_sources.json", json.dumps(sources, indent=1) + "\n")


def class_name(value: str) -> str:
    """An LVU class name: whitespace runs become ``_`` (names never contain spaces)."""
    return re.sub(r"\s+", "_", value.strip()) or UNKNOWN_WRITER


def _snap(frame: int, shot_starts: list[int]) -> int:
    """The shot start nearest to ``frame`` (``frame`` itself without shots)."""
    if not shot_starts:
        return frame
    return min(shot_starts, key=lambda s: (abs(s - frame), s))


def _dominant(
    scenes: list[Scene], start: int, end: int, attribute: str, skip: str = ""
) -> str | None:
    """The value of ``attribute`` covering most frames of ``[start, end)`` (ties: by name).

    Scenes whose value is ``skip`` do not vote; None when no scene votes.
    """
    cover: Counter[str] = Counter()
    for s in scenes:
        overlap = min(end, s.end_frame) - max(start, s.start_frame)
        value = getattr(s, attribute)
        if overlap > 0 and value != skip:
            cover[class_name(value)] += overlap
    return min(cover, key=lambda name: (-cover[name], name)) if cover else None


def _labels(source: CorpusSource, plan: LVUClipPlan) -> dict[str, str]:
    """Label (class name, or count columns) per task; a task without a label is left out."""
    movie, scenes = plan.movie, source.scenes.get(plan.movie.movie_id, [])
    labels = {
        "relationship": class_name(movie.relationship),
        "way_speaking": _dominant(
            scenes, plan.start_frame, plan.end_frame, "way_speaking", skip=NO_TALK
        ),
        "scene": _dominant(scenes, plan.start_frame, plan.end_frame, "place"),
        "director": class_name(movie.director),
        "writer": class_name(movie.writer) if movie.writer else UNKNOWN_WRITER,
        "year": str(movie.year // 10 * 10),
        "genre": class_name(movie.genre),
        "like_ratio": f"{movie.like_count} {movie.dislike_count}",
        "view_count": str(movie.view_count),
    }
    return {task: value for task, value in labels.items() if value is not None}


def _class_ids(task: str, names: list[str], vocabularies: dict[str, list[str]]) -> dict[str, int]:
    """Class name -> id: the order of ``corpus.json``'s list when it has one, else sorted."""
    if task not in CLASSIFICATION_TASKS:
        return {}
    listed = [class_name(v) for v in vocabularies.get(VOCABULARY_OF.get(task, ""), [])]
    extra = set(names) - set(listed)
    if task == "year":
        ordered = listed + sorted(extra, key=int)
    else:
        ordered = listed + sorted(extra - {UNKNOWN_WRITER})
        if UNKNOWN_WRITER in extra:
            ordered.insert(0, UNKNOWN_WRITER)
    return {name: i for i, name in enumerate(ordered)}


def _instances(source: CorpusSource, plan: LVUClipPlan) -> dict[str, dict[str, list[int]]]:
    """Per second of the clip: normalised box -> [shot index in clip, tracklet id]."""
    movie, boxes = plan.movie, source.boxes.get(plan.movie.movie_id)
    shots: list[Shot] = source.shots.get(movie.movie_id, [])
    shot_starts = [s.start_frame for s in shots]
    first_shot = max(bisect_right(shot_starts, plan.start_frame) - 1, 0)
    links: dict[tuple[int, str], int] = {}
    out: dict[str, dict[str, list[int]]] = {}
    if boxes is None:
        return out
    scale = np.array([movie.width, movie.height, movie.width, movie.height], np.float32)
    second = 0
    while (frame := plan.start_frame + int((second + 0.5) * movie.fps)) < plan.end_frame:
        lo, hi = np.searchsorted(boxes.frame, [frame, frame + 1])
        shot = max(bisect_right(shot_starts, frame) - 1, 0) - first_shot
        entries: dict[str, list[int]] = {}
        for i in range(int(lo), int(hi)):
            x1, y1, x2, y2 = np.clip(boxes.xyxy[i] / scale, 0.0, 1.0).tolist()
            if x2 <= x1 or y2 <= y1:
                continue
            link = links.setdefault((shot, boxes.character_id[i]), len(links))
            entries[f"{x1:.3f},{y1:.3f},{x2:.3f},{y2:.3f}"] = [shot, link]
        if entries:
            out[str(second)] = entries
        second += 1
    return out

"""Where backbone pretraining clips come from: Kinetics-style sets, movie catalogs, folders.

Every source resolves to a list of :class:`VideoSpan`: a time span of one video file that
plays the role of one "video" for clip sampling (CVRL draws its two clips from the same
span; clips of other spans are the negatives). The sources mirror the paper's data
(Xiao et al. §3.4 "Implementation details"):

- **Kinetics-style** (``K400``): ``<root>/{train,val}.csv`` + ``<root>/<class>/<clip>.mp4``.
  One span per clip file, labelled with its class (the "Sup-K400" rows use the labels).
- **Movie catalog / corpus** (``VS``: VidSitu is 10 s movie clips): ``catalog.parquet``
  (``movie_id``, ``path``, ``duration_s``, ``genre``, ``split``). Each movie is cut into
  consecutive ``segment_s``-second spans, so a long movie gives many "videos".
- **Plain folder**: every video file below it, one span per file, no labels.

"K400 then K400+VS" is two runs: pretrain on the Kinetics source, then continue from that
checkpoint (``--init``) on the catalog source.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from movierep.errors import UserError

VIDEO_SUFFIXES = (".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v")
NO_LABEL = -1


@dataclass(frozen=True)
class VideoSpan:
    """A span ``[start, end)`` seconds of one video file, treated as one video.

    Attributes:
        path: the video file.
        video_id: a unique name (clip id, or ``<movie_id>#<segment>``).
        start: span start in seconds.
        end: span end in seconds; ``None`` means "to the end of the file" (read lazily).
        label: class index into the source's ``classes``, or ``NO_LABEL`` (-1).
        group: the movie or clip the span comes from (for leave-one-movie-out evaluation).
    """

    path: Path
    video_id: str
    start: float = 0.0
    end: float | None = None
    label: int = NO_LABEL
    group: str = ""


@dataclass(frozen=True)
class ClipSource:
    """The spans of one data source and the names of its label classes (may be empty)."""

    spans: tuple[VideoSpan, ...]
    classes: tuple[str, ...] = ()
    name: str = ""

    def __len__(self) -> int:
        return len(self.spans)


def kinetics_source(root: str | Path, split: str = "train") -> ClipSource:
    """Read a Kinetics-style folder: ``<root>/<split>.csv`` and ``<root>/<class>/<clip>.mp4``.

    The CSV needs a ``label`` column and either a ``path`` column (relative to ``root``) or
    the Kinetics columns ``youtube_id``, ``time_start``, ``time_end`` (file
    ``<label>/<youtube_id>_<time_start:06d>_<time_end:06d>.mp4``). Without a CSV, the class
    folders themselves are listed.

    Args:
        root: the Kinetics-style folder.
        split: ``"train"`` or ``"val"``.

    Returns:
        One labelled span per clip; ``classes`` sorted by name.
    """
    root = Path(root)
    table = root / f"{split}.csv"
    if table.is_file():
        rows = _read_kinetics_csv(table, root)
    else:
        rows = [
            (p.parent.name, p)
            for p in sorted(root.glob("*/*"))
            if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file()
        ]
        if not rows:
            raise UserError(f"{root}: no {split}.csv and no <class>/<clip> videos")
    classes = tuple(sorted({label for label, _ in rows}))
    index = {name: i for i, name in enumerate(classes)}
    spans = tuple(
        VideoSpan(path=p, video_id=p.stem, label=index[label], group=p.stem) for label, p in rows
    )
    return ClipSource(spans=spans, classes=classes, name=f"kinetics:{root}")


def _read_kinetics_csv(table: Path, root: Path) -> list[tuple[str, Path]]:
    with table.open(newline="") as f:
        reader = csv.DictReader(f)
        columns = set(reader.fieldnames or ())
        if "label" not in columns:
            raise UserError(f"{table}: missing column 'label'")
        has_path = "path" in columns
        if not has_path and not {"youtube_id", "time_start", "time_end"} <= columns:
            raise UserError(f"{table}: needs a 'path' column or youtube_id/time_start/time_end")
        rows = []
        for row in reader:
            if has_path:
                rel = row["path"]
            else:
                start, end = int(float(row["time_start"])), int(float(row["time_end"]))
                rel = f"{row['label']}/{row['youtube_id']}_{start:06d}_{end:06d}.mp4"
            rows.append((row["label"], root / rel))
    missing = [p for _, p in rows if not p.is_file()]
    if missing:
        raise UserError(f"{table}: {len(missing)} listed clip(s) missing, e.g. {missing[0]}")
    return rows


def catalog_source(
    root: str | Path,
    split: str | None = "train",
    *,
    segment_s: float = 10.0,
    label: str | None = None,
) -> ClipSource:
    """Cut the movies of a corpus catalog into ``segment_s``-second spans.

    Args:
        root: a corpus folder holding ``catalog.parquet`` (paths relative to it).
        split: keep the movies of this split (``None`` or ``"all"``: every movie).
        segment_s: span length; the paper's in-domain data (VidSitu) are 10 s movie clips.
            The last, shorter remainder is kept when it is at least half a segment.
        label: a catalog column (e.g. ``"genre"``) whose values become class labels.

    Returns:
        The spans in catalog order, grouped by ``movie_id``.
    """
    from movierep.tables import read_table, require_columns

    root = Path(root)
    table = read_table(root / "catalog.parquet")
    needed = ["movie_id", "path", "duration_s"] + ([label] if label else [])
    require_columns(table, needed, root / "catalog.parquet")
    rows = table.to_pylist()
    if split not in (None, "all") and "split" in table.column_names:
        rows = [r for r in rows if r["split"] == split]
    classes = tuple(sorted({str(r[label]) for r in rows})) if label else ()
    index = {name: i for i, name in enumerate(classes)}
    spans: list[VideoSpan] = []
    for row in rows:
        path = root / row["path"]
        if not path.is_file():
            raise UserError(f"{root / 'catalog.parquet'}: movie file {path} not found")
        y = index[str(row[label])] if label else NO_LABEL
        for i, (start, end) in enumerate(segment_bounds(float(row["duration_s"]), segment_s)):
            spans.append(VideoSpan(path, f"{row['movie_id']}#{i}", start, end, y, row["movie_id"]))
    if not spans:
        raise UserError(f"{root / 'catalog.parquet'}: no movies in split {split!r}")
    return ClipSource(spans=tuple(spans), classes=classes, name=f"catalog:{root}")


def event_label_source(
    root: str | Path, split: str | None = "train", *, column: str = "verb"
) -> ClipSource:
    """One labelled span per annotated 2 s event of a corpus (``truth/events.parquet``).

    The supervised baseline on movies uses these (verb labels, as VidSitu verb
    classification; or ``place``): each event ``[start_time, end_time)`` is one span.

    Args:
        root: a corpus folder with ``catalog.parquet`` and ``truth/events.parquet``.
        split: keep the events of the movies of this split (``None`` or ``"all"``: all).
        column: the events column giving the class (``"verb"`` or ``"place"``).
    """
    from movierep.tables import read_table, require_columns

    root = Path(root)
    catalog = read_table(root / "catalog.parquet").to_pylist()
    movies = {
        r["movie_id"]: root / r["path"]
        for r in catalog
        if split in (None, "all") or r.get("split") == split
    }
    events_path = root / "truth" / "events.parquet"
    events = read_table(events_path)
    require_columns(
        events, ["movie_id", "event_index", "start_time", "end_time", column], events_path
    )
    rows = [r for r in events.to_pylist() if r["movie_id"] in movies and r[column] is not None]
    classes = tuple(sorted({str(r[column]) for r in rows}))
    index = {name: i for i, name in enumerate(classes)}
    spans = tuple(
        VideoSpan(
            movies[r["movie_id"]],
            f"{r['movie_id']}#e{r['event_index']}",
            float(r["start_time"]),
            float(r["end_time"]),
            index[str(r[column])],
            r["movie_id"],
        )
        for r in rows
    )
    if not spans:
        raise UserError(f"{events_path}: no labelled events in split {split!r}")
    return ClipSource(spans=spans, classes=classes, name=f"events:{root}:{column}")


def vidsitu_source(root: str | Path, split: str = "train") -> ClipSource:
    """One verb-labelled span per 2 s event of a VidSitu split (the "vb finetune" data).

    VidSitu's verb task fine-tunes the backbone on its train events (Sadhu et al. §4.1;
    Xiao et al. Table 3, "vb finetune"). An event's label is the most common verb of its
    annotations, as VidSitu's loader takes it.

    Args:
        root: a VidSitu folder (``vidsitu_annotations/`` and the clips' videos).
        split: the split whose clips to read.
    """
    from collections import Counter

    from movierep.data.benchmarks.vidsitu import load_vidsitu

    clips = [c for c in load_vidsitu(Path(root), split) if c.annotations]
    missing = [c.vid_seg_int for c in clips if c.video is None]
    if missing:
        raise UserError(f"{root}: clip {missing[0]} of split {split!r} has no video")
    labels = [
        [Counter(a[k].verb_id for a in c.annotations).most_common(1)[0][0] for k in range(5)]
        for c in clips
    ]
    classes = tuple(sorted({v for row in labels for v in row}))
    index = {name: i for i, name in enumerate(classes)}
    spans = tuple(
        VideoSpan(
            Path(str(c.video)), f"{c.vid_seg_int}#Ev{k + 1}", *c.event_window(k),
            index[labels[i][k]], c.vid_seg_int,
        )
        for i, c in enumerate(clips)
        for k in range(5)
    )  # fmt: skip
    if not spans:
        raise UserError(f"{root}: no annotated clips in split {split!r}")
    return ClipSource(spans=spans, classes=classes, name=f"vidsitu:{root}:{split}")


def segment_bounds(duration: float, segment_s: float) -> list[tuple[float, float]]:
    """Split ``[0, duration)`` into consecutive ``segment_s`` windows.

    A remainder shorter than half a segment is dropped; a video shorter than one segment
    gives a single span over the whole video.

    Example:
        >>> segment_bounds(25.0, 10.0)
        [(0.0, 10.0), (10.0, 20.0), (20.0, 25.0)]
    """
    if duration <= segment_s:
        return [(0.0, duration)]
    n = math.floor(duration / segment_s)
    bounds = [(i * segment_s, (i + 1) * segment_s) for i in range(n)]
    if duration - n * segment_s >= segment_s / 2:
        bounds.append((n * segment_s, duration))
    return bounds


def folder_source(root: str | Path) -> ClipSource:
    """Every video file below ``root`` (recursively), one unlabelled span per file."""
    root = Path(root)
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
    if not files:
        raise UserError(f"{root}: no video files ({', '.join(VIDEO_SUFFIXES)})")
    spans = tuple(
        VideoSpan(path=p, video_id=str(p.relative_to(root).with_suffix("")), group=p.stem)
        for p in files
    )
    return ClipSource(spans=spans, name=f"folder:{root}")


def open_source(
    path: str | Path, split: str = "train", *, segment_s: float = 10.0, label: str | None = None
) -> ClipSource:
    """Recognise a data path and read it as a source.

    - a folder with ``catalog.parquet`` (a corpus): :func:`catalog_source`;
    - a folder with ``<split>.csv``, or a corpus's ``kinetics/`` folder: :func:`kinetics_source`;
    - a ``.csv`` file: :func:`kinetics_source` on its folder;
    - any other folder: :func:`folder_source`.
    """
    path = Path(path)
    if path.suffix == ".csv" and path.is_file():
        return kinetics_source(path.parent, path.stem)
    if not path.is_dir():
        raise UserError(f"{path}: not a folder of videos, a corpus or a Kinetics CSV")
    if (path / "catalog.parquet").is_file():
        return catalog_source(path, split, segment_s=segment_s, label=label)
    if (path / f"{split}.csv").is_file():
        return kinetics_source(path, split)
    return folder_source(path)


def concat_sources(sources: Sequence[ClipSource]) -> ClipSource:
    """Join several sources (labels are re-indexed over the union of their class names)."""
    if len(sources) == 1:
        return sources[0]
    classes = tuple(sorted({c for s in sources for c in s.classes}))
    index = {name: i for i, name in enumerate(classes)}
    spans = []
    for source in sources:
        for span in source.spans:
            label = index[source.classes[span.label]] if span.label >= 0 else NO_LABEL
            spans.append(
                VideoSpan(span.path, span.video_id, span.start, span.end, label, span.group)
            )
    return ClipSource(spans=tuple(spans), classes=classes, name="+".join(s.name for s in sources))

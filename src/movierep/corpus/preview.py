"""A contact sheet of a corpus: one row per movie, one keyframe per shot, with labels."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw

from movierep.data.corpus import Corpus
from movierep.errors import UserError
from movierep.files import atomic_path

LABEL_H = 12  # pixels of the caption strip under each keyframe (before upscaling)


def _frames_at(path: Path, wanted: list[int]) -> dict[int, np.ndarray]:
    """Decode ``path`` once and keep the frames whose index is in ``wanted``."""
    keep, found = set(wanted), {}
    try:
        with av.open(str(path)) as container:
            for i, frame in enumerate(container.decode(video=0)):
                if i in keep:
                    found[i] = frame.to_ndarray(format="rgb24")
                if len(found) == len(keep):
                    break
    except av.error.FFmpegError as err:
        raise UserError(f"{path}: cannot decode ({err})") from None
    return found


def contact_sheet(
    root: str | Path, out: str | Path, movies: int = 8, shots: int = 8, scale: int = 2
) -> Path:
    """Write a PNG with the middle frame of up to ``shots`` shots of up to ``movies`` movies.

    Each row starts with the movie's id, genre, year and director; each keyframe is
    captioned with its shot index, the scene's place and the verb of the event under it.

    Returns:
        The PNG path.
    """
    corpus = Corpus(root)
    catalog = corpus.catalog.to_pylist()[:movies]
    shot_rows = corpus.truth("shots").to_pylist()
    scene_place = {
        (r["movie_id"], r["scene_index"]): r["place"] for r in corpus.truth("scenes").to_pylist()
    }
    verbs = {
        (r["movie_id"], r["event_index"]): r["verb"] for r in corpus.truth("events").to_pylist()
    }
    width, height = int(catalog[0]["width"]), int(catalog[0]["height"])
    head_w = 96
    sheet = Image.new(
        "RGB", (head_w + shots * width, len(catalog) * (height + LABEL_H)), (16, 16, 16)
    )
    draw = ImageDraw.Draw(sheet)
    for row, movie in enumerate(catalog):
        mine = [s for s in shot_rows if s["movie_id"] == movie["movie_id"]]
        picks = [mine[int(i)] for i in np.linspace(0, len(mine) - 1, min(shots, len(mine)))]
        mids = [(s["start_frame"] + s["end_frame"]) // 2 for s in picks]
        frames = _frames_at(corpus.movie_path(movie["movie_id"]), mids)
        y = row * (height + LABEL_H)
        lines = [movie["movie_id"], movie["genre"], str(movie["year"]), movie["director"][:14]]
        draw.multiline_text((2, y + 2), "\n".join(lines), fill=(230, 230, 230), spacing=1)
        for col, (shot, mid) in enumerate(zip(picks, mids, strict=True)):
            x = head_w + col * width
            if mid in frames:
                sheet.paste(Image.fromarray(frames[mid]), (x, y))
            place = scene_place[(movie["movie_id"], shot["scene_index"])]
            verb = verbs.get((movie["movie_id"], int(mid / movie["fps"] // 2)), "")
            caption = f"{shot['shot_index']} {place[:7]} {verb}"
            draw.text((x + 1, y + height), caption, fill=(200, 200, 120))
    out = Path(out)
    big = sheet.resize((sheet.width * scale, sheet.height * scale), Image.Resampling.NEAREST)
    with atomic_path(out) as tmp:
        big.save(tmp, format="PNG")
    return out

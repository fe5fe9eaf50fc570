"""Do selected scene pairs share a place more often than any two scenes of similar movies?

Issue 33's report on the supplement's selection (``movierep select-pairs``: every w × w
window of the whole movies' shot adjacency at stride 1, the top half popped best first,
no scene overlapping another in its movie). For every scene encoder a finished
``movierep demo`` run trained (``OUT/m2s/scene_encoders/<source>[_s<seed>]``), from its
shot-adjacency network and its similar movie pairs:

- ``selected``: the run's ``P_scene`` (learned space), and the same selection made in
  E_fixed's space (Table 3's ablation-selection);
- ``all windows``: every w-shot window pair of the same similar movie pairs (what a
  selection that knew nothing would give).

For each, the scene pairs per movie pair and the share whose two windows lie in scenes of
the same place class (a window's place is the true scene holding its middle shot). Writes
``benchmarks/results/scene_pair_sharing.json``.

    python benchmarks/scene_pair_sharing.py --run runs/demo
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from movierep import files, tables
from movierep.checkpoint import read_config
from movierep.data.corpus import Corpus
from movierep.features.image_encoder import shot_times
from movierep.similarity.scene_pairs import select_pairs

RESULTS = Path(__file__).parent / "results" / "scene_pair_sharing.json"


def place_of_windows(corpus: Path, shots: Path) -> Any:
    """A function (movie, start, end) → the place class of the true scene at the window's middle."""
    times = shot_times(shots)
    scenes: dict[str, list[tuple[float, str]]] = {}
    for r in Corpus(corpus).truth("scenes").to_pylist():
        scenes.setdefault(r["movie_id"], []).append((r["start_time"], r["place"]))
    for rows in scenes.values():
        rows.sort()

    def place(movie: str, start: int, end: int) -> str:
        middle = (start + end - 1) // 2
        a, b = times[(movie, middle)]
        t = (a + b) / 2
        rows = scenes[movie]
        return next((p for s, p in reversed(rows) if s <= t), rows[0][1])

    return place


def sharing(p_scene: pa.Table, place: Any) -> dict[str, float]:
    """Scene pairs, movie pairs, pairs per movie pair, and the same-place share (%)."""
    rows = p_scene.to_pydict()
    same = [
        place(a, a0, a1) == place(b, b0, b1)
        for a, a0, a1, b, b0, b1 in zip(
            rows["movie_a"], rows["a_start"], rows["a_end"],
            rows["movie_b"], rows["b_start"], rows["b_end"], strict=True,
        )
    ]  # fmt: skip
    movie_pairs = len(set(zip(rows["movie_a"], rows["movie_b"], strict=True)))
    return {
        "scene_pairs": len(same),
        "movie_pairs": movie_pairs,
        "per_movie_pair": round(len(same) / max(movie_pairs, 1), 2),
        "same_place_pct": round(100 * float(np.mean(same)), 1) if same else 0.0,
        "same_place_se": round(100 * float(np.std(same) / np.sqrt(max(len(same), 1))), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("runs/demo"), help="a demo run folder")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    run = args.run
    corpus, shots = run / "corpus", run / "shots"
    features = run / "m2s" / "shot_features.parquet"
    place = place_of_windows(corpus, shots)
    work = run / "m2s" / "sharing"
    results: dict[str, Any] = {}
    for unit in sorted((run / "m2s" / "scene_encoders").iterdir()):
        if not (unit / "p_scene.parquet").is_file():
            continue
        window = int(read_config(unit / "scenes" / "last")["run_config"]["data"]["shots_per_scene"])
        learned = tables.read_table(unit / "p_scene.parquet")
        row: dict[str, Any] = {
            "window": window,
            "selected (learned space)": sharing(learned, place),
        }
        for name, space, greedy in (
            ("selected (E_fixed space)", "fixed", True),
            ("all windows", "learned", False),
        ):
            out = work / unit.name / f"{name.split()[0]}_{space}.parquet"
            select_pairs(
                unit / "moviesim", features, out, window=window, space=space,  # type: ignore[arg-type]
                greedy=greedy, fraction=0.5 if greedy else 1.0,
            )  # fmt: skip
            row[name] = sharing(tables.read_table(out), place)
        results[unit.name] = row
        print(unit.name, json.dumps(row))
    report = {
        "benchmark": "scene_pair_sharing",
        "run": str(run),
        "machine": {"python": platform.python_version()},
        "unit": "same_place_pct: % of scene pairs whose windows lie in scenes of one place class",
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    files.write_json(args.out, report, indent=1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

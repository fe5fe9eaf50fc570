"""How often do the scenes of similar movies share a place or a character? (issue 31 item 4)

The headroom that a corpus offers Movies2Scenes, independent of any learned model: its
scene encoder learns from scene pairs of *similar* movies, which help only if similar
movies share scene content more often than random movies do. For each similarity source

- ``cowatch``: each movie's top-3 movies by the number of users who watched both;
- ``cowatch_next``: the pipeline's co-watch (``similarity.cowatch.cowatch_pairs``,
  k = 3: the movies most often watched right after it);
- ``genre``: every pair of movies of the same genre;
- ``synopsis``: each movie's top-3 by TF-IDF cosine of the synopses (scikit-learn
  ``TfidfVectorizer``, default settings);

the similar pairs are taken unordered and without repeats, and for each movie pair
(A, B) the fraction of (scene of A, scene of B) pairs that

- share a place: the same ``place`` class in ``truth/scenes.parquet``;
- share a character: a character of the same description (shape, colour and size, the
  ``description`` of ``truth/characters.parquet``) is in both scenes' ``characters``.

``random`` is the same fraction over every pair of distinct movies. Rates are means over
movie pairs with their standard error (std / sqrt(pairs)). Ties in a top-3 go to the
smaller movie id.

Usage::

    python benchmarks/scene_content_sharing.py CORPUS [--out results/scene_content_sharing.json]

The result is stored under the key ``<preset>_seed<seed>_v<generator version>`` of the
output JSON (other keys are kept, so one file holds several corpora), and a markdown table
is printed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from movierep import files
from movierep.data.corpus import Corpus
from movierep.similarity.cowatch import cowatch_pairs

RESULTS = Path(__file__).parent / "results" / "scene_content_sharing.json"
K = 3

Pair = tuple[int, int]


class Scenes:
    """Every movie's scenes: place classes and sets of character descriptions."""

    def __init__(self, corpus: Corpus) -> None:
        self.movie_ids = corpus.movie_ids
        index = {m: i for i, m in enumerate(self.movie_ids)}
        describe = {
            (r["movie_id"], r["character_id"]): r["description"]
            for r in corpus.truth("characters").to_pylist()
        }
        self.places: list[list[str]] = [[] for _ in self.movie_ids]
        self.casts: list[list[frozenset[str]]] = [[] for _ in self.movie_ids]
        rows = sorted(corpus.truth("scenes").to_pylist(), key=lambda r: r["scene_index"])
        for r in rows:
            i = index[r["movie_id"]]
            self.places[i].append(r["place"])
            self.casts[i].append(frozenset(describe[r["movie_id"], c] for c in r["characters"]))

    def sharing(self, a: int, b: int) -> tuple[float, float]:
        """Fractions of scene pairs of movies ``a`` and ``b`` sharing a place / a character."""
        pairs = list(itertools.product(range(len(self.places[a])), range(len(self.places[b]))))
        place = np.mean([self.places[a][i] == self.places[b][j] for i, j in pairs])
        cast = np.mean([bool(self.casts[a][i] & self.casts[b][j]) for i, j in pairs])
        return float(place), float(cast)


def _top_k(similarity: np.ndarray, k: int = K) -> set[Pair]:
    """Unordered pairs (i, j) where j is among i's k most similar (ties: smaller index)."""
    sim = similarity.astype(float).copy()
    np.fill_diagonal(sim, -np.inf)
    pairs: set[Pair] = set()
    for i, row in enumerate(sim):
        for j in np.argsort(-row, kind="stable")[:k]:
            pairs.add((min(i, int(j)), max(i, int(j))))
    return pairs


def similar_pairs(corpus: Corpus) -> dict[str, set[Pair]]:
    """The unordered similar-movie pairs of each source (see the module docstring)."""
    ids = corpus.movie_ids
    index = {m: i for i, m in enumerate(ids)}
    log = corpus.watch_log.to_pydict()
    users = sorted(set(log["user_id"]))
    seen = np.zeros((len(users), len(ids)))
    user_index = {u: i for i, u in enumerate(users)}
    for u, m in zip(log["user_id"], log["movie_id"], strict=True):
        seen[user_index[u], index[m]] = 1.0
    texts = corpus.catalog.column("synopsis").to_pylist()
    tfidf = TfidfVectorizer().fit_transform(texts)
    genres = corpus.catalog.column("genre").to_pylist()
    nxt = cowatch_pairs(corpus.watch_log, ids, k=K).to_pydict()
    pairs = list(itertools.combinations(range(len(ids)), 2))
    return {
        "cowatch": _top_k(seen.T @ seen),
        "cowatch_next": {
            (min(index[a], index[b]), max(index[a], index[b]))
            for a, b in zip(nxt["movie_a"], nxt["movie_b"], strict=True)
        },
        "genre": {(i, j) for i, j in pairs if genres[i] == genres[j]},
        "synopsis": _top_k((tfidf @ tfidf.T).toarray()),
    }


def _rates(scenes: Scenes, pairs: Iterable[Pair]) -> dict[str, Any]:
    values = np.array([scenes.sharing(a, b) for a, b in sorted(pairs)]).reshape(-1, 2)
    n = len(values)
    out: dict[str, Any] = {"movie_pairs": n}
    for column, name in enumerate(("same_place", "same_character")):
        out[name] = round(float(values[:, column].mean()), 4) if n else None
        se = values[:, column].std() / np.sqrt(n) if n > 1 else None
        out[name + "_se"] = None if se is None else round(float(se), 4)
    return out


def measure(root: Path) -> dict[str, Any]:
    """Sharing rates of every source and of random movie pairs on the corpus at ``root``."""
    corpus = Corpus(root)
    scenes = Scenes(corpus)
    everything = itertools.combinations(range(len(corpus.movie_ids)), 2)
    out = {"random": _rates(scenes, everything)}
    for source, pairs in similar_pairs(corpus).items():
        out[source] = _rates(scenes, pairs)
    return out


def _pct(row: dict[str, Any], key: str) -> str:
    mean, se = row[key], row[key + "_se"]
    if mean is None:
        return "-"
    return f"{100 * mean:.1f}" + ("" if se is None else f" ± {100 * se:.1f}")


def table(rates: dict[str, Any]) -> str:
    """Markdown table: per source, similar vs random pairs, in % (± s.e.)."""
    random = rates["random"]
    lines = [
        "| source | movie pairs | same place: similar | random "
        "| same character: similar | random |",
        "|---|---|---|---|---|---|",
    ]
    for source, row in rates.items():
        if source != "random":
            lines.append(
                f"| {source} | {row['movie_pairs']} | {_pct(row, 'same_place')} | "
                f"{_pct(random, 'same_place')} | {_pct(row, 'same_character')} | "
                f"{_pct(random, 'same_character')} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="a generated corpus folder")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    info = Corpus(args.corpus).info
    key = f"{info['preset']}_seed{info['seed']}_v{info['generator_version']}"
    start = time.perf_counter()
    rates = measure(args.corpus)
    report: dict[str, Any] = {
        "benchmark": "scene_content_sharing",
        "unit": "fraction of (scene, scene) pairs of a movie pair sharing a place class / a "
        "character (shape, colour, size); mean over movie pairs, se = std / sqrt(pairs)",
        "machine": {"python": platform.python_version()},
        "corpora": {},
    }
    if args.out.is_file():
        report["corpora"] = json.loads(args.out.read_text()).get("corpora", {})
    report["corpora"][key] = {
        "corpus": str(args.corpus),
        "movies": len(Corpus(args.corpus).movie_ids),
        "seconds": round(time.perf_counter() - start, 2),
        "rates": rates,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    files.write_json(args.out, report, indent=1, sort_keys=True)
    print(f"## {key}\n\n{table(rates)}\n\nwrote {args.out}")


if __name__ == "__main__":
    main()

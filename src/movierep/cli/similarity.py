"""``movierep similar-movies`` and ``movierep select-pairs``: Movies2Scenes' pseudo-labels.

``similar-movies`` writes the movie-similarity table S from co-watch, synopsis or genre
(§3.1, §4.1); ``select-pairs`` turns a trained shot-adjacency network into ``P_scene``,
the top 50% scene pairs of every similar movie pair (§3.2).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from movierep import tables
from movierep.data.corpus import Corpus
from movierep.similarity.movie_pairs import movie_pairs
from movierep.similarity.scene_pairs import select_pairs


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``similar-movies`` and ``select-pairs``."""
    movies = sub.add_parser(
        "similar-movies",
        help="movie-similarity pairs from co-watch, synopsis or genre",
        description=(
            "Write the similar-movie pairs table (movie_a, movie_b, source, score): co-watch "
            "(movies most often watched next), synopsis (nearest sentence embeddings), genre "
            "(random movies of the same genre), or several joined by +."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  movierep similar-movies corpus --source cowatch --out runs/cowatch.parquet\n"
            "  movierep similar-movies corpus --source genre+synopsis --split train -k 3 "
            "--out pairs.parquet"
        ),
    )
    movies.add_argument("corpus", type=Path, help="corpus folder (catalog and watch log)")
    movies.add_argument("--source", default="cowatch", help="cowatch, synopsis, genre, or a+b")
    movies.add_argument("-k", type=int, default=3, help="similar movies per movie (3)")
    movies.add_argument("--split", default=None, help="only this catalog split's movies")
    movies.add_argument("--seed", type=int, default=0, help="seed of the genre draws")
    movies.add_argument(
        "--synopsis-encoder", type=Path, default=None, help="sentence-transformers folder"
    )
    movies.add_argument("--out", type=Path, required=True, help="pairs Parquet file")
    movies.set_defaults(func=run_similar_movies)

    select = sub.add_parser(
        "select-pairs",
        help="P_scene: the top 50%% scene pairs of every similar movie pair",
        description=(
            "Run a trained shot-adjacency network (movierep train moviesim) over every "
            "similar movie pair: every w x w window of the whole movies' shot adjacency "
            "(stride 1), the top half popped best first with no scene overlapping another "
            "in its movie (Movies2Scenes supplement 1.1 b)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  movierep select-pairs --moviesim runs/moviesim --shot-features "
            "runs/shot_features.parquet --out runs/p_scene.parquet\n"
            "  ... --space fixed   (Table 3's ablation-selection: pairs chosen in E_fixed space)"
        ),
    )
    select.add_argument("--moviesim", type=Path, required=True, help="train moviesim run folder")
    select.add_argument("--shot-features", type=Path, required=True, help="E_fixed features")
    select.add_argument("--pairs", type=Path, default=None, help="default: the run's pairs")
    select.add_argument(
        "--window", type=int, default=9,
        help="shots per scene: the w x w windows of A (9; the scene encoder's shots_per_scene)",
    )  # fmt: skip
    select.add_argument(
        "--fraction", type=float, default=0.5, help="share of window pairs that are candidates"
    )
    select.add_argument(
        "--overlapping", action="store_true",
        help="keep every candidate instead of the supplement's non-overlapping pop",
    )  # fmt: skip
    select.add_argument("--space", choices=("learned", "fixed"), default="learned")
    select.add_argument("--out", type=Path, required=True, help="P_scene Parquet file")
    select.set_defaults(func=run_select_pairs)


def run_similar_movies(args: argparse.Namespace) -> int:
    """Run ``movierep similar-movies``."""
    corpus = Corpus(args.corpus)
    ids = corpus.split_ids(args.split) if args.split else None
    pairs = movie_pairs(
        corpus,
        args.source,
        args.k,
        seed=args.seed,
        synopsis_encoder=args.synopsis_encoder,
        movie_ids=ids,
    )
    tables.write_table(args.out, pairs)
    print(f"wrote {pairs.num_rows} similar-movie pairs ({args.source}) to {args.out}")
    return 0


def run_select_pairs(args: argparse.Namespace) -> int:
    """Run ``movierep select-pairs``."""
    selection = select_pairs(
        args.moviesim,
        args.shot_features,
        args.out,
        pairs=args.pairs,
        window=args.window,
        fraction=args.fraction,
        space=args.space,
        greedy=not args.overlapping,
    )
    print(
        f"wrote {selection.num_rows} scene pairs of {selection.movie_pairs} movie pairs "
        f"({selection.per_movie_pair:.1f} each, {args.space} space) to {args.out}"
    )
    return 0

"""``movierep embed``, ``index`` and ``search``: the embeddings store from the command line.

``embed`` ingests every video of a catalog and writes its event, shot and scene
embeddings to a store (:mod:`movierep.store.embed`; resumable, ``--shard i/n`` or torchrun
ranks, failures recorded); ``--engine ray`` writes the same store from a Ray cluster
(:mod:`movierep.scale.ray_engine`). ``index`` builds or grows the FAISS index of one level
(:mod:`movierep.store.index`). ``search`` prints the items of *other* movies nearest to a
stored item, or to the moment of a video, embedded with the encoder the store records.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from movierep import dist, tables
from movierep.cli.ingest import add_damage_arg, add_engine_args, check_engine, shard_arg
from movierep.errors import UserError
from movierep.store.embed import embed_at, embed_catalog
from movierep.store.index import KINDS, StoreIndex, build_index
from movierep.store.layout import LEVELS, movie_file, parse_levels, read_level


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``embed``, ``index``, ``search`` and ``verify``."""
    embed = sub.add_parser(
        "embed",
        help="embed a catalog's events, shots and scenes into an embeddings store",
        description=(
            "Ingest every video (shots, keyframes, 2 s events) and write one Parquet file per "
            "(level, movie) to the store: STORE/<level>/bucket=<hh>/<movie>.parquet, with "
            "STORE/store.json naming each level's encoder and weights. Reruns skip finished "
            "movies; failures go to STORE/failures.parquet; --shard i/n or torchrun splits "
            "the movies; --engine ray runs ingestion as Ray tasks and the encoders in Ray "
            "actors (one model copy each), into the same store."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  movierep embed corpus/ --levels event,shot,scene --out runs/store "
            "--backbone runs/cvrl/last --shot-encoder runs/vit/last "
            "--scene-encoder runs/scenes/last\n"
            "  movierep embed movies/ --levels scene --out runs/store "
            "--scene-encoder runs/scenes/last --shard 0/4\n"
            "  movierep embed corpus/ --levels scene --out runs/store "
            "--scene-encoder runs/scenes/last --engine ray --address auto --workers 4"
        ),
    )
    embed.add_argument(
        "catalog",
        nargs="+",
        metavar="CATALOG",
        help="video files, folders, .txt lists, corpus folders or catalog.parquet files",
    )
    embed.add_argument(
        "--levels", default=",".join(LEVELS), help="comma-separated levels (event,shot,scene)"
    )
    embed.add_argument("--out", type=Path, required=True, metavar="STORE", help="store folder")
    embed.add_argument("--backbone", type=Path, metavar="CKPT", help="event level: backbone")
    embed.add_argument(
        "--contextualizer", type=Path, metavar="CKPT", help="event level: TxE after the backbone"
    )
    embed.add_argument(
        "--shot-encoder", type=Path, metavar="PATH", help="shot level: E_fixed (ViT or CLIP file)"
    )
    embed.add_argument(
        "--scene-encoder", type=Path, metavar="PATH", help="scene level: E_scene checkpoint"
    )
    embed.add_argument(
        "--shots-per-scene", type=int, default=None, metavar="N",
        help="shots per scene; default: the scene encoder's own (its checkpoint's "
        "shots_per_scene; 9 for a CLIP file); a contradicting value is refused",
    )  # fmt: skip
    embed.add_argument("--detector", default="transnetv2", help="shot detector (transnetv2)")
    embed.add_argument(
        "--shots", type=Path, metavar="DIR",
        help="reuse the shots of an `ingest shots` folder made with --detector (local engine)",
    )  # fmt: skip
    embed.add_argument(
        "--shard", type=shard_arg, metavar="I/N", help="embed only part i of n (e.g. 0/4)"
    )
    embed.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    add_damage_arg(embed)
    add_engine_args(embed, "encoder actors (default: one per GPU, else half the CPUs)")
    embed.add_argument("--quiet", action="store_true", help="no progress bar")
    embed.set_defaults(func=run_embed)

    index = sub.add_parser(
        "index",
        help="build or grow the vector index of one level of a store",
        description=(
            "Build the FAISS index of one level (cosine similarity): exact for small stores, "
            "IVF above 100k vectors (auto), or as asked. A later run adds only the movies "
            "embedded since. Writes STORE/index/<level>/ (index.faiss, rows.parquet, "
            "index.json with the kind and its parameters)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  movierep index runs/store --level scene\n"
            "  movierep index runs/store --level event --kind hnsw --ef-search 128"
        ),
    )
    index.add_argument("store", type=Path, metavar="STORE", help="store folder")
    index.add_argument("--level", default="scene", help="event, shot or scene (scene)")
    index.add_argument("--kind", default="auto", help=f"{', '.join(KINDS)} (auto)")
    index.add_argument("--nprobe", type=int, default=None, help="IVF cells searched per query")
    index.add_argument("--ef-search", type=int, default=None, help="HNSW search beam width")
    index.add_argument("--rebuild", action="store_true", help="build from scratch")
    index.set_defaults(func=run_index)

    search = sub.add_parser(
        "search",
        help="the items of other movies nearest to a stored item or a moment of a video",
        description=(
            "Search a level's index for the k items of OTHER movies most similar (cosine) to "
            "a stored item (--scene MOVIE_ID:INDEX, the item index at that level) or to the "
            "item of a video at a time (--video FILE --at SECONDS, embedded with the encoder "
            "store.json records). Prints a table, or JSON with --json."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  movierep search runs/store --level scene --scene m0003:2 -k 5\n"
            "  movierep search runs/store --level event --video movie.mp4 --at 12.5 --json"
        ),
    )
    search.add_argument("store", type=Path, metavar="STORE", help="store folder")
    search.add_argument("--level", default="scene", help="event, shot or scene (scene)")
    query = search.add_mutually_exclusive_group(required=True)
    query.add_argument(
        "--scene", "--item", dest="item", metavar="MOVIE_ID:INDEX", help="a stored item"
    )
    query.add_argument("--video", type=Path, metavar="FILE", help="a video file (with --at)")
    search.add_argument("--at", type=float, metavar="SECONDS", help="with --video: the moment")
    search.add_argument("-k", type=int, default=10, help="results (10)")
    search.add_argument("--json", action="store_true", help="print JSON")
    search.add_argument("--device", default="auto", help="with --video: auto, cpu, cuda")
    search.set_defaults(func=run_search)

    check = sub.add_parser(
        "verify",
        help="check a store: one file per (level, movie), no duplicate rows",
        description=(
            "Check a store from its files alone: every movie of its catalog has exactly one "
            "file per level (or a failure record), each file holds only its movie's rows of "
            "its level from the encoder store.json names, and no (movie, level, item) row "
            "appears twice. Exit 0 when all is well, 1 when something is missing or doubled."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  movierep verify runs/store",
    )
    check.add_argument("store", type=Path, metavar="STORE")
    check.set_defaults(func=run_verify)


def run_embed(args: argparse.Namespace) -> int:
    """Embed a catalog into a store; see ``movierep embed --help``."""
    on_ray = check_engine(args)
    levels = parse_levels(args.levels)
    options: dict[str, Any] = {
        "event_checkpoint": args.backbone,
        "contextualizer": args.contextualizer,
        "shot_encoder": args.shot_encoder,
        "scene_encoder": args.scene_encoder,
        "shots_per_scene": args.shots_per_scene,
        "detector": args.detector,
        "device": args.device,
        "shard": args.shard,
        "show_progress": not args.quiet,
        "max_lost_fraction": args.max_lost_fraction,
    }
    if on_ray:
        from movierep.scale.ray_engine import embed_catalog_ray

        if args.shots is not None:
            raise UserError("movierep embed: --shots works with the local engine only")

        report = embed_catalog_ray(
            args.catalog, args.out, levels, address=args.address, workers=args.workers, **options
        )
    else:
        dist.init_from_env()
        try:
            report = embed_catalog(args.catalog, args.out, levels, shots=args.shots, **options)
        finally:
            dist.destroy()
    print("\n".join(report.lines()), file=sys.stderr)
    damaged = f" ({len(report.partial)} damaged: partial)" if report.partial else ""
    print(
        f"{args.out}: {len(report.done)} movies embedded{damaged}, "
        f"{len(report.skipped)} already there, "
        f"{len(report.failed)} failed ({', '.join(levels)})"
    )
    return report.exit_status()


def run_index(args: argparse.Namespace) -> int:
    """Build or grow a level's index; see ``movierep index --help``."""
    report = build_index(
        args.store,
        args.level,
        args.kind,
        nprobe=args.nprobe,
        ef_search=args.ef_search,
        rebuild=args.rebuild,
    )
    print(report.summary())
    return 0


def _stored_item(store: Path, level: str, text: str) -> tuple[pa.Table, str]:
    """The stored row named by ``MOVIE_ID:INDEX`` and its movie id."""
    movie, sep, number = text.rpartition(":")
    if not sep or not movie or not number.strip().isdigit():
        raise UserError(f"--scene {text!r}: expected MOVIE_ID:INDEX, e.g. m0003:2")
    rows = read_level(store, level, movie_ids=[movie])
    row = rows.filter(pc.equal(rows["item_index"], int(number)))
    if row.num_rows != 1:
        raise UserError(
            f"{movie_file(store, level, movie)}: movie {movie!r} has no {level} {number} "
            f"(it has {level}s 0..{rows.num_rows - 1})"
        )
    return row, movie


def run_search(args: argparse.Namespace) -> int:
    """Search a store; see ``movierep search --help``."""
    index = StoreIndex(args.store, args.level)  # a missing index fails before any embedding
    if args.item is not None:
        query, movie = _stored_item(args.store, args.level, args.item)
    else:
        if args.at is None:
            raise UserError(f"{args.video}: --video needs --at SECONDS")
        query = embed_at(args.store, args.level, args.video, args.at, device=args.device)
        movie = args.video.stem
    vector = tables.to_numpy_embeddings(query["embedding"])
    results = index.search(vector, args.k, exclude_movies=[movie])
    (asked,) = query.select(["movie_id", "item_index", "start_time", "end_time"]).to_pylist()
    if args.json:
        rows = results.drop_columns(["query"]).to_pylist()
        print(json.dumps({"level": args.level, "query": asked, "results": rows}, indent=2))
        return 0
    print(
        f"{args.level} {asked['movie_id']}:{asked['item_index']} "
        f"({asked['start_time']:.2f}-{asked['end_time']:.2f} s); "
        f"nearest items of other movies ({index.info['kind']} index of {index.info['n']}):"
    )
    header = ("rank", "score", "movie_id", "item", "start", "end", "keyframe")
    print("{:>4}  {:>6}  {:<12} {:>5}  {:>8}  {:>8}  {}".format(*header))
    for row in results.to_pylist():
        print(
            f"{row['rank']:>4}  {row['score']:6.3f}  {row['movie_id']:<12} "
            f"{row['item_index']:>5}  {row['start_time']:8.2f}  {row['end_time']:8.2f}  "
            f"{row['keyframe'] or '-'}"
        )
    return 0


def run_verify(args: argparse.Namespace) -> int:
    """Check a store; see ``movierep verify --help``."""
    from movierep.store.verify import verify

    check = verify(args.store)
    print("\n".join(check.lines()))
    return 0 if check.ok else 1

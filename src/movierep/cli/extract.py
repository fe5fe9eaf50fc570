"""``movierep extract``: run a frozen encoder over stage outputs and write feature tables.

``extract events`` writes one backbone feature per 2 s event (Hierarchical-SSL §3.1:
the clip features ``v_t`` that the contextualizer and the downstream heads read).
``extract shots`` runs E_fixed over every shot's keyframe and ``extract scenes`` the scene
encoder over shot ranges (Movies2Scenes §3.1, §3.3). ``extract clips`` embeds every
moderation clip from its own 9 frames (supplement §1.4). ``extract instances`` pools a backbone's
features in the tracked boxes of an LVU ``instance_meta`` file: the Object Transformer's tokens.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import pyarrow as pa

from movierep import dist, tables
from movierep.errors import UserError
from movierep.features.clip_frames import MODES, NUM_FRAMES, extract_clip_features
from movierep.features.extract import (
    clip_spec_from_checkpoint,
    events_from_corpus,
    events_from_videos,
    extract_with_checkpoint,
)
from movierep.features.instances import extract_instance_features
from movierep.features.scene_features import (
    concatenate_features,
    extract_scene_features,
    shots_per_scene_of,
)
from movierep.features.shot_features import extract_shot_features
from movierep.jobs import JobReport, parse_shard


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``extract`` and its ``events`` command."""
    parser = sub.add_parser(
        "extract",
        help="extract features with a frozen encoder (event features from a backbone)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    events = kinds.add_parser(
        "events",
        help="one backbone feature per 2 s event (Parquet)",
        description=(
            "Run a backbone checkpoint over 2 s events and write event_features Parquet "
            "(movie_id, event_index, start_time, end_time, feature). Resumable: rerun the same "
            "command to finish an interrupted run; under torchrun, videos are shared out."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  movierep extract events --backbone runs/cvrl/last --corpus corpus "
            "--out runs/feats/events.parquet\n"
            "  movierep extract events --backbone runs/cvrl/last "
            "--events runs/events/events.parquet --out feats.parquet\n"
            "  movierep extract events --backbone runs/cvrl/last --videos a.mp4 b.mp4 "
            "--out feats.parquet\n"
            "  movierep extract events --backbone runs/cvrl/last --corpus corpus "
            "--contextualizer runs/txe/last --out feats.parquet\n"
            "  movierep extract events --backbone runs/cvrl/last --videos corpus/lvu/videos/*.mp4 "
            "--contextualizer runs/txe/last --out runs/lvu_events.parquet"
        ),
    )
    events.add_argument("--backbone", type=Path, required=True, metavar="CKPT")
    where = events.add_mutually_exclusive_group(required=True)
    where.add_argument("--events", type=Path, help="events table (movierep ingest events)")
    where.add_argument("--corpus", type=Path, help="corpus folder: its annotated events")
    where.add_argument("--videos", type=Path, nargs="+", help="video files: 2 s windows")
    events.add_argument("--split", default=None, help="with --corpus: only this catalog split")
    events.add_argument("--out", type=Path, required=True, help="features Parquet file")
    events.add_argument("--batch-size", type=int, default=16, help="clips per forward pass")
    events.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    events.add_argument("--shard", default=None, metavar="I/N", help="run every N-th video only")
    events.add_argument("--num-frames", type=int, default=None, help="default: from the checkpoint")
    events.add_argument(
        "--frame-stride", type=int, default=None, help="default: from the checkpoint"
    )
    events.add_argument("--crop-size", type=int, default=None, help="default: from the checkpoint")
    events.add_argument(
        "--view-aspect",
        type=float,
        default=None,
        help="width / height of the view (1: square centre crop); default: from the checkpoint",
    )
    events.add_argument(
        "--contextualizer",
        type=Path,
        default=None,
        metavar="CKPT",
        help="TxE checkpoint (movierep train contextualizer): also write context_feature",
    )
    events.set_defaults(func=run_events)

    shots = kinds.add_parser(
        "shots",
        help="E_fixed: one image-encoder feature per shot keyframe (Parquet)",
        description=(
            "Run an image encoder (a CLIP file in OpenAI's layout, or a movierep ViT "
            "checkpoint) over the middle keyframe of every shot of a shots folder and write "
            "shot_features (movie_id, shot_index, start_time, end_time, feature). Resumable "
            "and shardable like extract events."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  movierep extract shots --encoder runs/vit/last --shots runs/shots "
            "--out runs/shot_features.parquet\n"
            "  movierep extract shots --encoder ViT-B-16.pt --shots runs/shots --out clip.parquet"
        ),
    )
    shots.add_argument("--encoder", type=Path, required=True, help="CLIP file or ViT checkpoint")
    _add_shot_args(shots, batch_size=64)
    shots.set_defaults(func=run_shots)

    scenes = kinds.add_parser(
        "scenes",
        help="E_scene: one scene-encoder embedding per shot range (Parquet)",
        description=(
            "Run the scene encoder (movierep train scenes) over shot ranges: a ranges table "
            "(movie_id with start_shot/end_shot or start_time/end_time) or consecutive "
            "windows of --shots-per-scene shots, and write scene_features (movie_id, start_shot, "
            "end_shot, start_time, end_time, feature). Several --encoder: their embeddings "
            "are concatenated (e.g. genre + synopsis)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  movierep extract scenes --encoder runs/scenes/last --shots runs/shots "
            "--out runs/scenes.parquet\n"
            "  movierep extract scenes --encoder runs/genre/last runs/synopsis/last "
            "--shots runs/shots --ranges runs/scenes.parquet --out runs/genre_synopsis.parquet"
        ),
    )
    scenes.add_argument("--encoder", type=Path, nargs="+", required=True, help="scene encoder(s)")
    scenes.add_argument("--ranges", type=Path, default=None, help="shot or time ranges table")
    scenes.add_argument(
        "--shots-per-scene",
        type=int,
        default=None,
        metavar="N",
        help="shots per scene: the default windows' length, and the most shots a ranges "
        "row is embedded with (longer rows are subsampled evenly); default: the encoder's "
        "own (its checkpoint's shots_per_scene; 9 for a CLIP file)",
    )
    _add_shot_args(scenes, batch_size=16)
    scenes.set_defaults(func=run_scenes)

    clips = kinds.add_parser(
        "clips",
        help="moderation clips from their own frames: E_scene (one scene) or E_fixed (mean)",
        description=(
            "Embed every clip of a corpus' moderation.parquet from --frames frames evenly "
            "spaced inside it (Movies2Scenes supplement 1.4: the same 9 frames for every "
            "encoder): --mode scene takes them as one scene input (the scene encoder), "
            "--mode frames embeds each frame and averages (E_fixed, CLIP's role). Writes "
            "clip_id, movie_id, start_time, end_time, feature, which eval moderation reads "
            "by clip_id. One job per movie: resumable and shardable like extract events."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n"
            "  movierep extract clips --encoder runs/scenes/last --corpus corpus "
            "--out runs/clips_scene.parquet\n"
            "  movierep extract clips --encoder runs/vit/last --corpus corpus --mode frames "
            "--out runs/clips_fixed.parquet\n"
            "  movierep eval moderation --data corpus --row E_fixed=runs/clips_fixed.parquet "
            "--row E_scene=runs/clips_scene.parquet"
        ),
    )
    clips.add_argument("--encoder", type=Path, required=True, help="CLIP file or ViT checkpoint")
    clips.add_argument(
        "--corpus", type=Path, required=True, help="corpus folder (moderation.parquet, videos)"
    )
    clips.add_argument("--out", type=Path, required=True, help="features Parquet file")
    clips.add_argument(
        "--mode",
        choices=MODES,
        default="scene",
        help="scene: the frames as one scene input; frames: each frame, then the mean",
    )
    clips.add_argument(
        "--frames", type=int, default=NUM_FRAMES, help=f"frames per clip ({NUM_FRAMES})"
    )
    clips.add_argument("--batch-size", type=int, default=16, help="clips per forward pass")
    clips.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    clips.add_argument("--shard", default=None, metavar="I/N", help="run every N-th movie only")
    clips.set_defaults(func=run_clips)

    instances = kinds.add_parser(
        "instances",
        help="Object Transformer tokens: backbone features RoI-pooled in tracked boxes (Parquet)",
        description=(
            "Pool a backbone's feature map (RoIAlign) in every box of an LVU instance_meta "
            "file, one clip per second centred on the boxes' frame, and write instance "
            "features (movie_id = video id, second, x1, y1, x2, y2, shot, link, feature). "
            "The corpus writes lvu/instance_meta.json from its ground-truth character boxes "
            "(a stand-in for a person detector and tracker). Resumable and shardable."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "example:\n"
            "  movierep extract instances --backbone runs/cvrl/last --lvu corpus/lvu "
            "--out runs/lvu_instances.parquet"
        ),
    )
    instances.add_argument("--backbone", type=Path, required=True, metavar="CKPT")
    instances.add_argument(
        "--lvu", type=Path, required=True, help="LVU folder (videos/ and instance_meta.json)"
    )
    instances.add_argument(
        "--instance-meta", type=Path, default=None, help="default: LVU/instance_meta.json"
    )
    instances.add_argument("--stage", default="res5", help="backbone stage to pool (res5)")
    instances.add_argument(
        "--view-size",
        type=int,
        default=None,
        help="height of the view whose feature map is RoI-pooled: a larger view than the "
        "backbone's crop gives small boxes more feature-map cells (default: the backbone's "
        "crop size)",
    )
    instances.add_argument("--out", type=Path, required=True, help="features Parquet file")
    instances.add_argument("--batch-size", type=int, default=8, help="clips per forward pass")
    instances.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    instances.add_argument("--shard", default=None, metavar="I/N", help="every N-th video only")
    instances.set_defaults(func=run_instances)


def _add_shot_args(parser: argparse.ArgumentParser, batch_size: int) -> None:
    parser.add_argument(
        "--shots", type=Path, required=True, help="shots folder (movierep ingest shots)"
    )
    parser.add_argument("--out", type=Path, required=True, help="features Parquet file")
    parser.add_argument("--batch-size", type=int, default=batch_size, help="per forward pass")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    parser.add_argument("--shard", default=None, metavar="I/N", help="run every N-th movie only")


def _finish(report: JobReport, out: Path, what: str) -> int:
    print("\n".join(report.lines()), file=sys.stderr)
    if dist.is_main() and out.is_file():
        n = tables.read_table(out, columns=["movie_id"]).num_rows
        print(f"wrote {n} {what} to {out}")
    elif dist.is_main():
        print(f"shard done; {out} is merged when every shard has finished")
    return report.exit_status()


def run_shots(args: argparse.Namespace) -> int:
    """Extract E_fixed shot features; see ``movierep extract shots --help``."""
    dist.init_from_env()
    try:
        report = extract_shot_features(
            args.encoder,
            args.shots,
            args.out,
            batch_size=args.batch_size,
            device=args.device,
            shard=parse_shard(args.shard) if args.shard else None,
        )
        return _finish(report, args.out, "shot features")
    finally:
        dist.destroy()


def run_scenes(args: argparse.Namespace) -> int:
    """Extract scene embeddings; see ``movierep extract scenes --help``."""
    ranges = tables.read_table(args.ranges) if args.ranges is not None else None
    dist.init_from_env()
    try:
        outs = [args.out]
        if len(args.encoder) > 1:
            outs = [
                args.out.with_name(f"{args.out.stem}.enc{i}.parquet")
                for i in range(len(args.encoder))
            ]
        status = 0
        for encoder, out in zip(args.encoder, outs, strict=True):
            shots_per_scene = shots_per_scene_of(encoder, args.shots_per_scene)
            report = extract_scene_features(
                encoder,
                args.shots,
                out,
                ranges=ranges,
                shots_per_scene=shots_per_scene,
                max_shots=shots_per_scene,
                batch_size=args.batch_size,
                device=args.device,
                shard=parse_shard(args.shard) if args.shard else None,
            )
            status = max(status, _finish(report, out, "scene embeddings"))
        if len(outs) > 1 and dist.is_main() and all(p.is_file() for p in outs):
            joined = concatenate_features([tables.read_table(p) for p in outs])
            tables.write_table(args.out, joined)
            print(f"wrote {joined.num_rows} concatenated scene embeddings to {args.out}")
        return status
    finally:
        dist.destroy()


def run_clips(args: argparse.Namespace) -> int:
    """Extract moderation clip features; see ``movierep extract clips --help``."""
    dist.init_from_env()
    try:
        report = extract_clip_features(
            args.encoder,
            args.corpus,
            args.out,
            mode=args.mode,
            num_frames=args.frames,
            batch_size=args.batch_size,
            device=args.device,
            shard=parse_shard(args.shard) if args.shard else None,
        )
        return _finish(report, args.out, f"clip features ({args.mode}, {args.frames} frames)")
    finally:
        dist.destroy()


def run_events(args: argparse.Namespace) -> int:
    """Extract event features; see ``movierep extract events --help``."""
    spec = clip_spec_from_checkpoint(
        args.backbone,
        num_frames=args.num_frames,
        frame_stride=args.frame_stride,
        crop_size=args.crop_size,
        view_aspect=args.view_aspect,
    )
    events: pa.Table
    if args.events is not None:
        events, source = tables.read_table(args.events), args.events
    elif args.corpus is not None:
        events, source = events_from_corpus(args.corpus, split=args.split), args.corpus
    else:
        missing = [p for p in args.videos if not p.is_file()]
        if missing:
            raise UserError(f"{missing[0]}: video file not found")
        events, source = events_from_videos(args.videos), args.videos[0]
    dist.init_from_env()
    try:
        report = extract_with_checkpoint(
            args.backbone,
            events,
            args.out,
            source=source,
            spec=spec,
            batch_size=args.batch_size,
            device=args.device,
            shard=parse_shard(args.shard) if args.shard else None,
            contextualizer=args.contextualizer,
        )
        print("\n".join(report.lines()), file=sys.stderr)
        if dist.is_main() and args.out.is_file():
            n = tables.read_table(args.out, columns=["event_index"]).num_rows
            print(f"wrote {n} event features ({spec.num_frames}x{spec.frame_stride}) to {args.out}")
        elif dist.is_main():
            print(f"shard done; {args.out} is merged when every shard has finished")
    finally:
        dist.destroy()
    return report.exit_status()


def run_instances(args: argparse.Namespace) -> int:
    """Extract instance features; see ``movierep extract instances --help``."""
    spec = clip_spec_from_checkpoint(args.backbone)
    if args.view_size is not None:  # the pooled view, not the backbone's input contract
        spec = replace(spec, crop_size=args.view_size)
    meta = args.instance_meta or args.lvu / "instance_meta.json"
    if not meta.is_file():
        raise UserError(f"{meta}: no instance metadata (LVU's instance_meta as JSON)")
    dist.init_from_env()
    try:
        report = extract_instance_features(
            args.backbone,
            args.lvu / "videos",
            meta,
            args.out,
            spec=spec,
            stage=args.stage,
            batch_size=args.batch_size,
            device=args.device,
            shard=parse_shard(args.shard) if args.shard else None,
        )
        return _finish(report, args.out, "instance features")
    finally:
        dist.destroy()

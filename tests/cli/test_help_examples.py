"""Every example in every ``--help`` is a command line that works.

The examples are read from the parser itself (each command's epilog), so a flag renamed
or a row syntax changed without its help shows up here. Every example must parse; then
each one is run, in the order the help lists them, against the tiny corpus in a scratch
folder laid out as the examples name it (``corpus/``, ``movies/``, ``runs/cvrl/last``...),
wherever its inputs exist there. Training examples resolve their config
(``--print-config``) instead of training, and evaluations train their heads once, briefly
(``--runs 1`` and a few steps appended: argparse keeps the last value, every other flag is
the example's own). A few cannot run here at all (a Ray cluster, torchrun, a web server,
the 15-minute demo, regenerating the corpus) and are parsed only.
"""

from __future__ import annotations

import argparse
import glob
import json
import shlex
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import torch

from movierep import config
from movierep.checkpoint import InferenceInputs, save_checkpoint
from movierep.cli import build_parser, main
from movierep.data.benchmarks.movienet import load_movienet_movie, load_split318
from movierep.models.shot_adjacency import SHOT_ADJACENCY_CPU, ShotAdjacencyNet
from movierep.models.slow_d import slow_d_tiny
from movierep.models.txe import TxE, TxEConfig
from movierep.models.vit import save_clip_visual, vit_tiny
from movierep.similarity.pairs_table import pairs_table
from movierep.tables import embedding_array, write_table

#: Examples that cannot run in a test: they are parsed only.
NOT_HERE = ("--engine ray", "torchrun", "movierep serve", "movierep demo", "corpus make")
#: Appended to an evaluation so that its heads train once, briefly.
BRIEF = {
    "place-retrieval": [],
    "vidsitu-srl": ["--runs", "1", "--steps", "5"],
    "lvu-ot": ["--runs", "1", "--epochs", "0.2", "--eval-stride", "20"],
}


def _walk(parser: argparse.ArgumentParser, path: list[str]):  # type: ignore[no-untyped-def]
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, [*path, name])


def help_examples() -> list[str]:
    """Every example command line of every command's help, continuation lines joined."""
    found: list[str] = []
    for _, parser in _walk(build_parser(), []):
        current = ""
        for line in (parser.epilog or "").splitlines():
            text = line.strip()
            if not current and not text.startswith(("movierep ", "torchrun ")):
                continue
            current = f"{current} {text}".strip()
            if current.endswith("\\"):
                current = current[:-1].rstrip()
                continue
            if current not in found:
                found.append(current)
            current = ""
    return found


def argv_of(example: str, *, expand: bool = False) -> list[str]:
    """The ``movierep`` arguments of an example (after ``-m movierep`` for torchrun).

    ``expand``: glob patterns become the files they match, as a shell would expand them.
    """
    words = shlex.split(example)
    if words[0] == "torchrun":
        words = words[words.index("movierep") :]
    if expand:
        words = [m for w in words for m in (sorted(glob.glob(w)) or [w] if "*" in w else [w])]
    return words[1:]


EXAMPLES = help_examples()


def test_every_command_has_examples() -> None:
    assert len(EXAMPLES) >= 50


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_help_example_parses(example: str) -> None:
    build_parser().parse_args(argv_of(example))  # a bad flag exits with status 2


def _inputs(argv: list[str]) -> list[str]:
    """The path-like arguments an example reads (everything but what follows ``--out``)."""
    paths, skip = [], False
    for word in argv:
        if skip or word.startswith("-"):
            skip = word in ("--out", "--write-predictions", "--shard")
            continue
        for part in word.split("=", 1)[-1].split(","):
            part = part.partition("#")[0]
            if "/" in part or part.endswith((".mp4", ".pt", ".parquet")):
                paths.append(part)
    return paths


def _workspace(root: Path, tiny_corpus: Path) -> None:
    """The files the examples name: the corpus, videos and small checkpoints."""
    shutil.copytree(tiny_corpus, root / "corpus")
    (root / "movies").mkdir()
    videos = sorted((root / "corpus" / "movies").glob("*.mp4"))
    for video in videos[:2]:
        (root / "movies" / video.name).symlink_to(video)
    for name, video in (("a.mp4", videos[0]), ("b.mp4", videos[1]), ("movie.mp4", videos[2])):
        (root / name).symlink_to(video)
    torch.manual_seed(0)
    backbone = slow_d_tiny()
    clips = InferenceInputs(clip_frames=4, frame_stride=2, crop_size=32, view_aspect=1.0)
    for name in ("cvrl", "cvrl_k400"):
        save_checkpoint(root / "runs" / name / "last", backbone, "slow_d",
                        backbone.model_kwargs, inputs=clips)  # fmt: skip
    txe_cfg = TxEConfig(input_dim=backbone.feature_dim, hidden_dim=16, num_layers=1, num_heads=2)
    save_checkpoint(root / "runs/txe/last", TxE(txe_cfg), "txe", config.to_dict(txe_cfg),
                    inputs=InferenceInputs(token_stride=None))  # fmt: skip
    vit = vit_tiny(image_size=(32, 32))
    save_checkpoint(root / "runs/vit/last", vit, "vit", vit.model_kwargs,
                    inputs=InferenceInputs(image_size=(32, 32)))  # fmt: skip
    scenes = InferenceInputs(shots_per_scene=4, frames_per_shot=1, image_size=(32, 32))
    for name in ("scenes", "genre", "synopsis"):
        save_checkpoint(root / "runs" / name / "last", vit, "vit", vit.model_kwargs,
                        inputs=scenes)  # fmt: skip
    save_clip_visual(vit, root / "ViT-B-16.pt")
    # a shot-adjacency network over the ViT's shot features, with the similar-movie pairs
    # its run folder holds (select-pairs reads them from beside the checkpoint)
    moviesim = ShotAdjacencyNet(replace(SHOT_ADJACENCY_CPU, input_dim=vit.output_dim))
    save_checkpoint(root / "runs/moviesim/last", moviesim, "shot_adjacency",
                    config.to_dict(moviesim.cfg))  # fmt: skip
    stems = [video.stem for video in videos[:2]]
    write_table(root / "runs/moviesim/pairs.parquet",
                pairs_table(stems, stems[::-1], "cowatch", [1.0, 1.0], [0, 0]))  # fmt: skip
    # MovieNet's shot features: no example writes them (the export's keyframes become a
    # shots folder through the Python API), so random features at the named paths
    rng = np.random.default_rng(0)
    movienet = root / "corpus" / "movienet"
    # the tiny corpus' test movies need not share a place with its training movies (mAP
    # would be undefined): the test split also scores a training movie
    split_file = movienet / "scene318" / "meta" / "split318.json"
    split = json.loads(split_file.read_text())
    split["test"] = [*split["test"], split["train"][0]]
    split_file.write_text(json.dumps(split))
    movies, shots = [], []
    for imdb in load_split318(movienet)["all"]:
        n = len(load_movienet_movie(movienet, imdb).shots)
        movies += [imdb] * n
        shots += list(range(n))
    for name in ("mn_shots", "mn_place_scenes"):
        feats = rng.normal(size=(len(movies), 8)).astype(np.float32)
        table = pa.table({"movie_id": movies, "shot_index": pa.array(shots, pa.int32()),
                          "feature": embedding_array(feats)})  # fmt: skip
        write_table(root / "runs" / f"{name}.parquet", table)


@pytest.mark.slow
def test_help_examples_run_on_the_tiny_corpus(
    tiny_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _workspace(tmp_path, tiny_corpus)
    monkeypatch.chdir(tmp_path)
    ran, resolved, missing = [], [], []
    # training examples last: what the other examples write is their input
    trains = [e for e in EXAMPLES if argv_of(e)[0] == "train"]
    for example in [e for e in EXAMPLES if e not in trains] + trains:
        if any(marker in example for marker in NOT_HERE):
            continue
        argv = argv_of(example, expand=True)
        absent = [p for p in _inputs(argv) if not Path(p).exists()]
        if absent:
            missing.append((example, absent))
            continue
        if argv[0] == "train":
            if "--print-config" not in argv:
                argv = [*argv, "--print-config"]
            resolved.append(example)
        else:
            if argv[0] == "eval":
                argv = [*argv, *BRIEF.get(argv[1], ["--runs", "1"])]
            ran.append(example)
        tic = time.monotonic()
        assert main(argv) in (0, 1), example  # 1: some inputs failed (recorded), the rest ran
        print(f"{time.monotonic() - tic:6.1f} s  {example}", file=sys.stderr, flush=True)
    print(f"ran {len(ran)}, resolved {len(resolved)}, inputs absent: {missing}")
    assert len(ran) >= 37, missing
    assert len(resolved) >= 10, missing

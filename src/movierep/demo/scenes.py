"""The Movies2Scenes stages of the demo: E_fixed, movie similarity, scene pairs, scene MoCo.

Per similarity source (co-watch, genre, synopsis): movie-similarity learning with the
shot-adjacency network on the train movies (Fig. 2), ``P_scene`` (the supplement's
non-overlapping pop of the top 50 % of every similar pair's scene-window pairs, scenes of
the scene encoder's ``shots_per_scene``), and the scene encoder E_scene trained from
E_fixed's weights with MoCo (Fig. 3). E_fixed is movierep's image ViT pretrained with
SimCLR on the keyframes: no CLIP release can be downloaded here, so it stands in for CLIP
(``train image-encoder``).

Then every encoder embeds what the downstream protocols read:

- ``movie_<enc>.parquet``: the movies, one row per shot (E_fixed) or per window of
  ``data.shots_per_scene`` shots (E_scene); LVU and place retrieval read it re-keyed to
  the LVU cuts (:func:`movierep.demo.hierarchy.cut_rows`);
- ``clips_<enc>.parquet``: the moderation clips, each from its own 9 frames (supplement
  §1.4): E_fixed embeds each frame and averages, E_scene takes them as one scene
  (:func:`clip_features_of`, made when moderation first asks for it);
- ``movienet_<enc>.parquet``: MovieNet's shots, one row per shot (E_scene takes the shot
  alone as a one-shot scene, as Movies2Scenes does for scene boundaries); E_fixed's rows
  are mean-pooled per tagged segment for place tagging (the supplement's CLIP row);
- ``movienet_places_<enc>.parquet`` (E_scene): every tagged MovieNet segment as one scene
  of the encoder's shots per scene, evenly spread over the segment (Movies2Scenes tags
  places from 9-shot scenes: 12.13 mAP, against 9.37 from 4-shot ones).

``genre+synopsis`` concatenates the genre and synopsis encoders' embeddings (Table 3).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from movierep import files, tables
from movierep.data.benchmarks.movienet_shots import write_shots_folder
from movierep.data.corpus import Corpus
from movierep.demo.paths import Paths
from movierep.demo.presets import DemoPreset
from movierep.demo.stage_calls import check, print_fit, train_sets
from movierep.features.clip_frames import Mode, extract_clip_features
from movierep.features.scene_features import (
    concatenate_features,
    extract_scene_features,
    shots_per_scene_of,
)
from movierep.features.shot_features import extract_shot_features
from movierep.recipes import image_encoder, moviesim, scenes
from movierep.similarity.scene_pairs import select_pairs
from movierep.tasks.protocols.movienet import place_segments

#: ``--ablations`` rows of Movies2Scenes Table 3: (name, source, moviesim sets, pair space,
#: scene sets).
ABLATIONS = (
    ("ablation-selection (pairs in E_fixed space)", "cowatch", (), "fixed", ()),
    ("ablation-scale (a third of the catalog)", "cowatch", ("pairs.catalog_fraction=0.33",),
     "learned", ()),
    ("ablation-shots (2-shot scenes)", "cowatch", (), "learned", ("data.shots_per_scene=2",)),
)  # fmt: skip


def m2s(p: Paths) -> Path:
    """The Movies2Scenes work folder."""
    return p.out / "m2s"


def encoder_path(p: Paths, name: str, seed: int = 0) -> Path:
    """E_fixed (``fixed``) or the scene encoder trained with source / ablation ``name``.

    ``seed``: which of the ``pretrain_seeds["scene"]`` pretrainings (0: the run's seed).
    """
    if name == "fixed":
        return m2s(p) / "image_encoder" / "last"
    return work_folder(p, name, seed) / "scenes" / "last"


def work_folder(p: Paths, name: str, seed: int = 0) -> Path:
    """Where source / ablation ``name``'s movie similarity, P_scene and MoCo are trained."""
    return m2s(p) / "scene_encoders" / (slug(name) + (f"_s{seed}" if seed else ""))


def slug(name: str) -> str:
    """A folder name for a row name."""
    return "".join(c if c.isalnum() else "_" for c in name).strip("_")[:40]


def fps(p: Paths) -> float:
    """The corpus' frame rate (MovieNet frames → seconds)."""
    return float(files.read_json(p.corpus / "corpus.json")["options"]["fps"])


def train_image_encoder(p: Paths, preset: DemoPreset, seed: int) -> None:
    """E_fixed: SimCLR on the train movies' keyframes, then its feature of every shot."""
    sets = train_sets(preset.image_steps, seed, *preset.overrides("image"))
    cfg = image_encoder.resolve("cpu", sets=sets)
    train = Corpus(p.corpus).split_ids("train")
    print_fit(image_encoder.run(cfg, shots=p.shots, out=m2s(p) / "image_encoder", movie_ids=train))
    check(
        extract_shot_features(encoder_path(p, "fixed"), p.shots, m2s(p) / "shot_features.parquet"),
        "image-encoder",
    )


def train_scene_encoder(
    p: Paths,
    preset: DemoPreset,
    seed: int,
    name: str,
    source: str,
    sim_sets: tuple[str, ...] = (),
    space: str = "learned",
    scene_sets: tuple[str, ...] = (),
) -> None:
    """Movie similarity (Fig. 2) → P_scene → scene MoCo (Fig. 3) for one source.

    ``preset.seeds("scene", name)`` times, with seeds ``seed``, ``seed + 1``, ...
    """
    for k in range(preset.seeds("scene", name)):
        if not (encoder_path(p, name, k) / "model.safetensors").is_file():
            _train_scene_encoder(
                p, preset, seed + k, work_folder(p, name, k), source, sim_sets, space,
                scene_sets,
            )  # fmt: skip


def _train_scene_encoder(
    p: Paths,
    preset: DemoPreset,
    seed: int,
    work: Path,
    source: str,
    sim_sets: tuple[str, ...],
    space: str,
    scene_sets: tuple[str, ...],
) -> None:
    shot_features = m2s(p) / "shot_features.parquet"
    sets = train_sets(preset.moviesim_steps, seed, f"pairs.sources={source}", *sim_sets)
    sets += preset.overrides("moviesim")
    corpus = Corpus(p.corpus)
    train = corpus.split_ids("train")
    heldout = [m for m in corpus.movie_ids if m not in set(train)]
    print_fit(
        moviesim.run(
            moviesim.resolve("cpu", sets=sets), corpus=p.corpus, shot_features=shot_features,
            out=work / "moviesim", movie_ids=train, heldout_ids=heldout,
        )
    )  # fmt: skip
    sets = train_sets(preset.scene_steps, seed, *preset.overrides("scenes"), *scene_sets)
    cfg = scenes.resolve("cpu", sets=sets)
    selection = select_pairs(
        work / "moviesim", shot_features, work / "p_scene.parquet",
        window=cfg.data.shots_per_scene, space=space,  # type: ignore[arg-type]
    )  # fmt: skip
    print(
        f"P_scene: {selection.num_rows} scene pairs of {selection.movie_pairs} movie pairs "
        f"({selection.per_movie_pair:.1f} each)"
    )
    print_fit(
        scenes.run(
            cfg, pairs=work / "p_scene.parquet", shots=p.shots, init=encoder_path(p, "fixed"),
            out=work / "scenes",
        )
    )  # fmt: skip


def movienet_shots(p: Paths) -> Path:
    """MovieNet's keyframes as a shots folder (written once)."""
    folder = m2s(p) / "movienet_shots"
    if not (folder / "shots.parquet").is_file():
        write_shots_folder(p.corpus / "movienet", None, folder, fps=fps(p))
    return folder


def feature_path(p: Paths, name: str, kind: str, seed: int = 0) -> Path:
    """Encoder ``name``'s (pretraining ``seed``) ``kind`` (``movie``/``movienet``) table."""
    return m2s(p) / "features" / f"{kind}_{slug(name)}{f'_s{seed}' if seed else ''}.parquet"


def embed_for_tasks(p: Paths, name: str, seed: int = 0) -> None:
    """Encoder ``name``'s movie table and MovieNet table (see the module docstring)."""
    enc = encoder_path(p, name, seed)
    movie_out = feature_path(p, name, "movie", seed)
    mn_out = feature_path(p, name, "movienet", seed)
    mn = movienet_shots(p)
    if name == "fixed":
        check(extract_shot_features(enc, p.shots, movie_out), "scene-features")
        check(extract_shot_features(enc, mn, mn_out), "scene-features")
        return
    check(extract_scene_features(enc, p.shots, movie_out), "scene-features")  # its own window
    check(extract_shot_features(enc, mn, mn_out), "scene-features")  # each shot alone (§4.3.2)
    n = shots_per_scene_of(enc)  # place tagging: each tagged segment as one n-shot scene
    segments = place_segments(p.corpus / "movienet")
    places = feature_path(p, name, "movienet_places", seed)
    check(
        extract_scene_features(enc, mn, places, ranges=segments, shots_per_scene=n, max_shots=n),
        "scene-features",
    )


def embed_clips(p: Paths, name: str, seed: int = 0) -> Path:
    """Encoder ``name``'s moderation clip table from the clips' own frames (made once).

    E_fixed in ``frames`` mode (each of the 9 frames alone, then the mean: CLIP's row of
    Table 6), every E_scene in ``scene`` mode (the 9 frames as one scene input).
    """
    out = feature_path(p, name, "clips", 0 if name == "fixed" else seed)
    if not out.is_file():
        mode: Mode = "frames" if name == "fixed" else "scene"
        enc = encoder_path(p, name, seed)
        check(extract_clip_features(enc, p.corpus, out, mode=mode), "clip-features")
    return out


def clip_features_of(p: Paths, name: str, seed: int = 0) -> pa.Table:
    """Encoder ``name``'s moderation clip table (``genre+synopsis``: both, concatenated)."""
    for part in name.split("+") if name == "genre+synopsis" else [name]:
        embed_clips(p, part, seed)
    return features_of(p, name, "clips", seed)


def features_of(p: Paths, name: str, kind: str, seed: int = 0) -> pa.Table:
    """The ``kind`` (``movie`` / ``movienet``) feature table of encoder ``name``.

    ``genre+synopsis`` concatenates the genre and synopsis encoders' rows (of the same
    pretraining seed).
    """
    if name == "genre+synopsis":
        parts = [features_of(p, s, kind, seed) for s in ("genre", "synopsis")]
        return concatenate_features(parts)
    return tables.read_table(feature_path(p, name, kind, 0 if name == "fixed" else seed))

"""MovieNet's shots and keyframes as a movierep ingest shots folder (the tiny corpus' export)."""

from __future__ import annotations

import functools
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch

from movierep import tables
from movierep.data.benchmarks.movienet import load_movienet_movie, load_split318
from movierep.data.benchmarks.movienet_shots import write_shots_folder
from movierep.data.shot_images import ShotImages
from movierep.errors import UserError
from movierep.features.shot_features import extract_shot_features
from movierep.features.shot_store import ShotFeatureStore, write_shot_features
from movierep.models.vit import ViT, ViTConfig


def test_round_trip_on_the_corpus_export(tiny_corpus: Path, tmp_path: Path) -> None:
    root = tiny_corpus / "movienet"
    ids = load_split318(root)["all"]
    out = write_shots_folder(root, None, tmp_path / "shots", fps=25.0)
    shots = tables.read_table(out / "shots.parquet")
    keys = tables.read_table(out / "keyframes.parquet")
    assert shots.schema == tables.SHOTS and keys.schema == tables.KEYFRAMES
    assert sorted(set(shots.column("movie_id").to_pylist())) == sorted(ids)
    images = ShotImages(out, k=None)
    for imdb in ids:
        movie = load_movienet_movie(root, imdb)
        assert images.num_shots[imdb] == len(movie.shots)
        rows = [r for r in shots.to_pylist() if r["movie_id"] == imdb]
        assert [r["shot_index"] for r in rows] == list(range(len(movie.shots)))
        assert rows[0]["start_frame"] == movie.shots[0].start_frame
        assert rows[-1]["end_frame"] == movie.shots[-1].end_frame + 1  # exclusive
        assert rows[-1]["end_time"] == pytest.approx((movie.shots[-1].end_frame + 1) / 25)
        krow = [r for r in keys.to_pylist() if r["movie_id"] == imdb and r["shot_index"] == 1]
        assert [r["frame"] for r in krow] == list(movie.shots[1].keyframes)
        assert (out / krow[2]["path"]).resolve() == movie.keyframe_path(1, 2).resolve()
    paths = images.all_paths()
    assert len(paths) == 3 * shots.num_rows
    for p in paths:  # every keyframe opens
        assert images._decode(str(p.relative_to(out))).ndim == 3


def test_shot_features_follow_movienet_shots(tiny_corpus: Path, tmp_path: Path) -> None:
    root = tiny_corpus / "movienet"
    imdb = load_split318(root)["all"][0]
    out = write_shots_folder(root, [imdb], tmp_path / "shots")
    torch.manual_seed(0)
    vit = ViT(
        ViTConfig(image_size=(16, 32), patch_size=8, width=32, layers=1, heads=1, output_dim=8)
    )
    feats = tmp_path / "feats" / "shot_features.parquet"
    extract_shot_features(vit, out, feats, device="cpu", show_progress=False)
    table = tables.read_table(feats)
    assert table.column("shot_index").to_pylist() == list(
        range(len(load_movienet_movie(root, imdb).shots))
    )


def test_missing_keyframe_is_a_user_error(tiny_corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "movienet"
    src = tiny_corpus / "movienet"
    imdb = load_split318(src)["all"][0]
    for sub in ("shot_movie318", "label318"):
        (root / "scene318" / sub).mkdir(parents=True)
        text = (src / "scene318" / sub / f"{imdb}.txt").read_text()
        (root / "scene318" / sub / f"{imdb}.txt").write_text(text)
    with pytest.raises(UserError, match=r"shot_0000_img_0\.jpg"):
        write_shots_folder(root, [imdb], tmp_path / "shots")


def test_extracted_shot_features_keep_whole_movies_per_row_group(
    tiny_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # row groups of one movie each (every movie is longer than 1 row): the layout shows
    monkeypatch.setattr(
        "movierep.features.shot_features.write_shot_features",
        functools.partial(write_shot_features, rows_per_group=1),
    )
    root = tiny_corpus / "movienet"
    ids = load_split318(root)["all"]
    out = write_shots_folder(root, ids, tmp_path / "shots")
    torch.manual_seed(0)
    vit = ViT(ViTConfig(image_size=(16, 32), patch_size=8, width=32, layers=1, heads=1,
                        output_dim=8))  # fmt: skip
    feats = tmp_path / "feats" / "shot_features.parquet"
    extract_shot_features(vit, out, feats, device="cpu", show_progress=False)
    file = pq.ParquetFile(feats)
    groups = [
        set(file.read_row_group(g, columns=["movie_id"]).column(0).to_pylist())
        for g in range(file.metadata.num_row_groups)
    ]
    assert groups == [{imdb} for imdb in sorted(ids)]  # each movie whole, in its own group
    store = ShotFeatureStore(feats)
    for imdb in ids:
        assert store.num_shots(imdb) == len(load_movienet_movie(root, imdb).shots)

"""The report's figures: valid, deterministic PNGs, and clear errors on empty input."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from PIL import Image

from movierep.errors import UserError
from movierep.report import embedding_map, keyframe_grid, loss_curves, timeline
from movierep.report.plots import ALTERNATING, DPI, _project, _timeline_bars


def _decode(png: bytes) -> Image.Image:
    assert isinstance(png, bytes)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    image.verify()
    image = Image.open(io.BytesIO(png))
    assert image.width > 50 and image.height > 50
    return image


def test_loss_curves() -> None:
    curves = {
        "CVRL": [(s, 6.0 * 0.97**s) for s in range(0, 200, 5)],
        "MoDist": [(10, 3.0), (0, 4.0), (20, float("nan")), (30, 2.0)],
        "TxE mask prediction": [(0, 2.0), (1, 1.5)],
        "scene MoCo (co-watch)": [],
    }
    png = loss_curves(curves, title="losses")
    image = _decode(png)
    assert image.size == (round(3.7 * 3 * DPI), round((2.5 * 2 + 0.4) * DPI))  # 3 x 2 grid
    assert loss_curves(curves, title="losses") == png
    assert _decode(loss_curves({"one": [(0, 1.0)]})).size == (370, 250)
    with pytest.raises(ValueError, match="no curves"):
        loss_curves({})


@pytest.mark.parametrize("n", [1, 3, 60])
def test_embedding_map(n: int) -> None:
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(3, 16)) * 3
    features = centers[np.arange(n) % 3] + rng.normal(size=(n, 16))
    labels = {
        "place": [f"place {i % 3}" for i in range(n)],
        "genre": [f"g{i % 23}" for i in range(n)],  # more kinds than colours: "other"
    }
    png = embedding_map(features, labels, title="scenes", seed=1)
    assert _decode(png).size == (round(5.6 * 2 * DPI), round((4.0 + 0.4) * DPI))
    assert embedding_map(features, labels, title="scenes", seed=1) == png


def test_embedding_map_without_labels_and_errors() -> None:
    _decode(embedding_map(np.eye(4, dtype=np.float32), {}))
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        embedding_map(np.zeros((0, 8)), {})
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        embedding_map(np.zeros(8), {})
    with pytest.raises(ValueError, match="2 'place' labels for 3 points"):
        embedding_map(np.ones((3, 2)), {"place": ["a", "b"]})
    with pytest.raises(ValueError, match="NaN"):
        embedding_map(np.full((3, 2), np.nan), {})


def test_keyframe_grid_reads_files_and_arrays(tmp_path: Path) -> None:
    paths = []
    for i in range(4):
        path = tmp_path / f"shot{i}.jpg"
        array = np.zeros((90, 160, 3), np.uint8)
        array[..., i % 3] = 60 * i + 40
        Image.fromarray(array).save(path)
        paths.append(path)
    rows = [
        ("shot 3", [(paths[0], "query"), (paths[1], "movie 2, shot 14, cos 0.83"), (paths[2], "")]),
        ("shot 9", [(np.full((40, 40, 3), 200, np.uint8), "array"), (paths[3], "neighbour")]),
        ("alone", [(np.full((600, 1000, 3), 90, np.uint8), "a large frame")]),
    ]
    png = keyframe_grid(rows, title="nearest shots")
    assert _decode(png).size == (round((1.9 * 3 + 0.6) * DPI), round((1.75 * 3 + 0.4) * DPI))
    assert keyframe_grid(rows, title="nearest shots") == png
    with pytest.raises(ValueError, match="no rows"):
        keyframe_grid([])
    with pytest.raises(ValueError, match="has no image"):
        keyframe_grid([("empty", [])])
    with pytest.raises(ValueError, match="uint8"):
        keyframe_grid([("f", [(np.zeros((4, 4, 3), np.float32), "")])])
    with pytest.raises(UserError, match=r"missing\.jpg"):
        keyframe_grid([("m", [(tmp_path / "missing.jpg", "")])])


def test_timeline() -> None:
    tracks = [
        ("true shots", [(3.0 * i, 3.0 * (i + 1), f"s{i}") for i in range(10)]),
        ("detected shots", [(0.0, 4.0, "d0"), (4.0, 9.5, "d1"), (9.5, 35.0, "d2")]),
        (
            "true scenes (place)",
            [(0.0, 9.0, "kitchen"), (9.0, 20.0, "street"), (20, 30, "kitchen")],
        ),
        ("scene encoder nearest place", [(0.0, 12.0, "kitchen"), (12.0, 30.0, "street")]),
        ("nothing", []),
    ]
    png = timeline(tracks, duration=30.0, title="movie 0")
    assert _decode(png).size == (1100, round((0.55 * 5 + 1.0 + 0.3) * DPI))
    assert timeline(tracks, duration=30.0, title="movie 0") == png
    with pytest.raises(ValueError, match="no tracks"):
        timeline([], duration=10.0)
    with pytest.raises(ValueError, match="duration"):
        timeline(tracks, duration=0.0)
    with pytest.raises(ValueError, match="reversed"):
        timeline([("t", [(5.0, 1.0, "x")])], duration=10.0)


def test_timeline_colours_places_alike_and_alternates_shots() -> None:
    tracks = [
        ("shots", [(4.0, 8.0, "s1"), (0.0, 4.0, "s0"), (8.0, 12.0, "s2"), (12.0, 20.0, "s3")]),
        ("scenes", [(0.0, 5.0, "kitchen"), (5.0, 9.0, "street"), (9.0, 12.0, "kitchen")]),
        ("predicted", [(0.0, 6.0, "street"), (6.0, 12.0, "kitchen")]),
    ]
    shots, scenes, predicted = _timeline_bars(tracks, duration=12.0)
    # sorted by start, clipped to the duration (s3 starts at the end: dropped)
    assert [(lo, hi, label) for lo, hi, label, _ in shots] == [
        (0.0, 4.0, "s0"),
        (4.0, 8.0, "s1"),
        (8.0, 12.0, "s2"),
    ]
    grey = [to_rgb(c) for c in ALTERNATING]
    assert [c for *_, c in shots] == [grey[0], grey[1], grey[0]]
    kitchen, street = scenes[0][3], scenes[1][3]
    assert kitchen != street and scenes[2][3] == kitchen
    assert [c for *_, c in predicted] == [street, kitchen]
    assert kitchen not in grey and street not in grey


def test_projection_pca_below_5_points_else_tsne() -> None:
    # 4 points on a line through the origin: L2-normalised they are u, u, -u, u (|u| = 1),
    # centred 0.5u, 0.5u, -1.5u, 0.5u; the sign is fixed so the largest score is positive
    line = np.array([[1.0, 2.0, 2.0], [2.0, 4.0, 4.0], [-1.0, -2.0, -2.0], [3.0, 6.0, 6.0]])
    xy, method = _project(line, seed=0)
    assert method == "PCA" and xy.shape == (4, 2)
    np.testing.assert_allclose(xy[:, 0], [-0.5, -0.5, 1.5, -0.5], atol=1e-9)
    np.testing.assert_allclose(xy[:, 1], 0.0, atol=1e-9)
    rng = np.random.default_rng(0)
    two_clusters = np.vstack([rng.normal(size=(30, 8)) + 5, rng.normal(size=(30, 8)) - 5])
    xy, method = _project(two_clusters, seed=0)
    assert method == "t-SNE" and xy.shape == (60, 2) and np.isfinite(xy).all()
    # the clusters stay apart: every point is nearer its own cluster's centre
    centres = np.stack([xy[:30].mean(0), xy[30:].mean(0)])
    nearest = np.linalg.norm(xy[:, None] - centres[None], axis=2).argmin(1)
    assert (nearest == np.repeat([0, 1], 30)).all()

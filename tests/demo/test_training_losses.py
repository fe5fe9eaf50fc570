"""Did every pretraining's loss fall: the first and last tenth against the noise level."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from movierep.demo.paths import Paths
from movierep.demo.presets import PRESETS
from movierep.demo.training_losses import loss_curve, loss_fall, loss_table, training_runs

LOSSES = (5.0, 4.6, 4.4, 4.0, 3.9, 3.5, 3.4, 3.1, 3.0, 2.8)


def test_a_falling_curve_falls_beyond_the_noise() -> None:
    curve = [(10 * (i + 1), v) for i, v in enumerate(LOSSES)]
    f = loss_fall(curve)
    # successive differences² sum to 0.68; σ = √(0.68 / (2 × 9)) ≈ 0.1944
    sigma = math.sqrt(0.68 / 18)
    assert (f.steps, f.logged, f.disjoint) == (100, 10, True)
    assert (f.first.mean, f.last.mean) == (5.0, 2.8)  # steps ≤ 10 and > 90
    assert f.first.se == pytest.approx(sigma) and f.last.se == pytest.approx(sigma)
    assert f.fall.d == pytest.approx(2.2)
    assert f.fall.se == pytest.approx(sigma * math.sqrt(2))
    assert f.fall.d / f.fall.se == pytest.approx(8.004, abs=1e-3)
    assert f.says == "fell"


def test_tenths_average_every_logged_loss_in_them() -> None:
    curve = [(s, 10.0 - s / 10) for s in range(1, 101)]  # 9.9 .. 0.0, every step
    f = loss_fall(curve)
    assert f.first.mean == pytest.approx(9.45)  # steps 1..10
    assert f.last.mean == pytest.approx(0.45)  # steps 91..100
    assert f.says == "fell"


def test_a_flat_noisy_curve_is_flat_and_a_rising_one_rose() -> None:
    flat = [(i + 1, v) for i, v in enumerate((3.0, 3.2, 2.9, 3.1, 3.0, 3.1, 2.9, 3.2, 3.0, 3.05))]
    assert loss_fall(flat).says == "flat within the noise"
    rising = [(10 * (i + 1), v) for i, v in enumerate(reversed(LOSSES))]
    assert loss_fall(rising).says == "rose"


def test_too_few_logged_losses_decide_nothing() -> None:
    one = loss_fall([(6, 2.5)])
    assert (one.says, one.disjoint, one.first.se) == ("too few logged losses to tell", False, None)
    two = loss_fall([(5, 3.0), (10, 2.0)])
    assert two.disjoint and two.fall.d == 1.0 and two.says == "too few logged losses to tell"
    with pytest.raises(ValueError, match="empty"):
        loss_fall([])


def _log(run: Path, losses: list[float]) -> None:
    run.mkdir(parents=True)
    lines = [
        json.dumps({"step": 2 * (i + 1), "loss": v, "time": 0.1}) for i, v in enumerate(losses)
    ]
    (run / "metrics.jsonl").write_text("\n".join(lines) + "\n")


def test_every_training_under_the_output_folder_is_found_and_tabled(tmp_path: Path) -> None:
    p = Paths(tmp_path)
    _log(tmp_path / "txe" / "cvrl", list(LOSSES))
    _log(tmp_path / "backbones" / "cvrl", [2.6])
    _log(tmp_path / "ablations" / "txe" / "variant0", [4.0, 3.0, 2.0])
    runs = training_runs(p, PRESETS["tiny"])
    assert list(runs) == ["Slow-D CVRL", "TxE mask prediction (CVRL)", "ablations/txe/variant0"]
    assert loss_curve(runs["Slow-D CVRL"]) == [(2, 2.6)]
    table = loss_table(runs)
    assert table is not None and not table.highlight_best
    rows = {r.name: r for r in table.rows}
    txe = rows["TxE mask prediction (CVRL)"]
    assert txe.cells["fall"] is not None and txe.cells["fall"].mean == pytest.approx(2.2)
    assert txe.note == "fell (20 steps, 10 logged losses)"
    one = rows["Slow-D CVRL"]
    assert one.cells["fall"] is None and one.cells["fall / s.e."] is None
    assert one.note == "too few logged losses to tell (2 steps, 1 logged loss)"
    assert loss_table({}) is None


def test_a_queue_objective_is_read_from_the_step_its_queue_is_full(tmp_path: Path) -> None:
    """While a queue of negatives fills, InfoNCE rises with it; the curve starts once full."""
    run = tmp_path / "moco"
    run.mkdir()
    records = [
        {"step": 10 * (i + 1), "loss": loss, "queue_fill": min(1.0, 0.25 * (i + 1))}
        for i, loss in enumerate((2.0, 3.0, 4.0, 6.0, 5.8, 5.5, 5.3, 5.0))
    ]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    curve = loss_curve(run)
    assert curve[0] == (40, 6.0) and len(curve) == 5  # from the first full queue on
    assert loss_fall(curve).fall.d == pytest.approx(1.0)  # 6.0 -> 5.0: it fell

"""The decision rules of the demo's findings, on hand-computed numbers."""

from __future__ import annotations

import math

import pytest

from movierep.demo.verdicts import (
    TASK_MARGIN,
    Comparison,
    Estimate,
    claim_all,
    claim_beats,
    claim_equal,
    compare,
    head_runs_spread,
    mean_of,
    over_pretraining,
    tally,
)

NAN = math.nan
RUNS = "head runs (5)"


def est(mean: float, se: float | None = 1.0, n: int = 5, spread: str = RUNS) -> Estimate:
    return Estimate(mean, se, n, spread)


def test_an_estimate_of_values_is_their_mean_and_sd_over_root_n() -> None:
    # 1, 3: mean 2, sd √2, se √2 / √2 = 1
    assert Estimate.of([1.0, 3.0], "head runs") == Estimate(2.0, 1.0, 2, "head runs (2)")
    # 2, 4, 9: mean 5, squared deviations 9 + 1 + 16 = 26, var 13, se √(13 / 3)
    e = Estimate.of([2.0, 4.0, 9.0], "queries")
    assert (e.mean, e.n, e.spread) == (5.0, 3, "queries (3)")
    assert e.se == pytest.approx(math.sqrt(13 / 3))
    one = Estimate.of([7.0], "queries")
    assert (one.mean, one.se, one.n) == (7.0, None, 1) and not one.decides()
    none = Estimate.of([], "queries")
    assert math.isnan(none.mean) and none.n == 0


def test_a_difference_beyond_two_standard_errors_counts() -> None:
    # d = 3, se = √2 ≈ 1.414, 2 se ≈ 2.83 < 3
    c = compare(est(10.0), est(7.0))
    assert (c.d, c.outcome, c.spread) == (3.0, "better", RUNS)
    assert c.se == pytest.approx(math.sqrt(2))
    assert compare(est(7.0), est(10.0)).outcome == "worse"  # d = −3 < −2√2
    assert compare(est(7.2), est(10.0)).outcome == "noise"  # d = −2.8, inside ±2√2
    assert compare(est(10.0), est(7.2)).outcome == "noise"
    assert compare(est(10.0), est(7.1)).outcome == "better"  # 2.9 > 2√2


def test_lower_is_better_flips_the_sign() -> None:
    c = compare(est(7.0), est(10.0), lower_is_better=True)
    assert (c.d, c.outcome) == (3.0, "better")
    assert compare(est(10.0), est(7.0), lower_is_better=True).outcome == "worse"


@pytest.mark.parametrize(
    "a",
    [
        est(10.0, se=None),  # no standard error (a rank, one measurement)
        est(10.0, se=NAN),  # NaN saved for a single run
        est(10.0, n=1),  # one unit
        est(10.0, se=0.0),  # units that never varied: the spread was not sampled
        est(NAN),  # nothing measured
        est(math.inf),
    ],
)
def test_a_side_without_a_usable_standard_error_decides_nothing(a: Estimate) -> None:
    assert compare(a, est(0.0)).outcome == "undecided"
    assert compare(est(0.0), a).outcome == "undecided"
    assert "undecided" in compare(a, est(0.0)).text()


def test_the_spread_of_each_side_is_named() -> None:
    seeds = "pretraining seeds (3) × head runs (2)"
    c = compare(est(10.0, spread=seeds, n=3), est(7.0, spread=head_runs_spread(5)))
    assert c.spread == f"{seeds} / head runs only (one pretraining, 5 runs)"
    assert c.text() == f"difference +3.00 ± 1.41 over {c.spread}: better"


def test_a_known_value_such_as_chance_adds_no_error() -> None:
    c = compare(est(33.3, se=2.0), 25.0)  # d = 8.3 > 2 × 2
    assert c.outcome == "better" and c.se == 2.0 and c.spread == RUNS
    assert compare(est(26.0, se=1.0), 25.0).outcome == "noise"  # d = 1 < 2
    assert compare(est(26.0, se=None), 25.0).outcome == "undecided"


def test_the_floor_is_the_smallest_difference_the_evaluation_can_show() -> None:
    a, b = est(10.0, se=0.1), est(9.0, se=0.1)
    assert compare(a, b).outcome == "better"  # 1 > 2 × 0.14
    c = compare(a, b, floor=4.0)  # one test item = 4 points: se ≥ 2
    assert (c.se, c.outcome) == (2.0, "noise")


@pytest.mark.parametrize(
    ("outcomes", "verdict"),
    [
        ([], "inconclusive"),  # zero comparisons
        (["undecided", "undecided"], "inconclusive"),
        (["better"], "reproduced"),
        (["better", "better"], "reproduced"),
        (["better", "undecided"], "inconclusive"),
        (["better", "noise"], "not reproduced"),
        (["better", "worse"], "not reproduced"),
        (["better", "noise", "undecided"], "not reproduced"),
        (["worse"], "contradicted"),
        (["worse", "noise"], "contradicted"),
        (["worse", "undecided"], "contradicted"),
        (["noise"], "inconclusive"),
        (["noise", "undecided"], "inconclusive"),
    ],
)
def test_a_claim_that_a_beats_b(outcomes: list[str], verdict: str) -> None:
    assert claim_beats(outcomes) == verdict


def test_unknown_outcomes_and_verdicts_are_errors() -> None:
    with pytest.raises(ValueError, match="unknown outcomes"):
        claim_beats(["won"])
    with pytest.raises(ValueError, match="unknown verdicts"):
        claim_all(["yes"])


def _noise_half_a_point() -> Comparison:
    # d = 0.5, se = √(0.5 + 0.5) = 1
    c = compare(est(10.5, se=math.sqrt(0.5)), est(10.0, se=math.sqrt(0.5)))
    assert (c.outcome, c.d) == ("noise", 0.5) and c.se == pytest.approx(1.0)
    return c


@pytest.mark.parametrize(
    ("effect", "verdict"),
    [
        (3.0, "reproduced"),  # 0.5 + 2 × 1 = 2.5 < 3: an effect of 3 would have shown
        (2.0, "inconclusive"),  # 2.5 ≥ 2: too noisy to rule out the contrasted effect
        (2.5, "inconclusive"),  # strictly inside
        (None, "inconclusive"),  # nothing to size the test by
        (NAN, "inconclusive"),
        (-3.0, "inconclusive"),
        (math.inf, "inconclusive"),
    ],
)
def test_noise_is_equality_only_when_it_could_have_seen_the_effect(
    effect: float | None, verdict: str
) -> None:
    assert claim_equal(_noise_half_a_point(), effect) == verdict


def test_a_measured_difference_contradicts_equality() -> None:
    assert claim_equal(compare(est(10.0), est(7.0)), 10.0) == "contradicted"
    assert claim_equal(compare(est(7.0), est(10.0)), 10.0) == "contradicted"
    assert claim_equal(compare(est(7.0, se=None), est(7.0)), 10.0) == "inconclusive"


def _outcome(outcome: str) -> Comparison:
    e = est(0.0)
    return Comparison(e, e, 0.0, 1.0, RUNS, outcome)


@pytest.mark.parametrize(
    ("outcomes", "counts", "pair"),
    [
        (["better", "better", "noise"], (2, 0, 1, 0), "better"),
        (["better", "noise", "noise"], (1, 0, 2, 0), "noise"),  # one task can be luck
        (["better", "worse"], (1, 1, 0, 0), "noise"),
        (["worse", "worse", "worse", "better"], (1, 3, 0, 0), "worse"),
        (["undecided", "undecided"], (0, 0, 0, 2), "undecided"),
        ([], (0, 0, 0, 0), "undecided"),
        (["better", "better", "undecided"], (2, 0, 0, 1), "better"),
    ],
)
def test_a_rank_summary_counts_tasks_beyond_two_standard_errors(
    outcomes: list[str], counts: tuple[int, int, int, int], pair: str
) -> None:
    t = tally([_outcome(o) for o in outcomes])
    assert (t.wins, t.losses, t.ties, t.undecided) == counts
    assert t.outcome == pair


def test_the_task_margin_keeps_false_alarms_near_one_comparison() -> None:
    p = 0.5 * math.erfc(2 / math.sqrt(2))  # one side beyond 2 s.e.: 2.3 %
    none = (1 - p) ** 9
    one = 9 * p * (1 - p) ** 8
    assert TASK_MARGIN == 2
    assert 1 - none == pytest.approx(0.187, abs=0.005)  # "about one time in five"
    assert 1 - none - one == pytest.approx(1 / 60, rel=0.05)  # "about one time in sixty"


@pytest.mark.parametrize(
    ("verdicts", "verdict"),
    [
        (["reproduced", "reproduced"], "reproduced"),
        (["reproduced", "contradicted"], "not reproduced"),
        (["contradicted", "inconclusive"], "contradicted"),
        (["contradicted", "not reproduced"], "not reproduced"),
        (["reproduced", "inconclusive"], "inconclusive"),
        (["not reproduced"], "not reproduced"),
        (["inconclusive"], "inconclusive"),
        ([], "inconclusive"),
    ],
)
def test_a_claim_made_of_sub_claims(verdicts: list[str], verdict: str) -> None:
    assert claim_all(verdicts) == verdict


def test_per_seed_results_combine_over_the_pretraining_seeds() -> None:
    # seeds at 10, 12, 14: mean 12, sd 2, se 2 / √3; the head runs' se inside is not added
    e = over_pretraining({0: est(10.0, n=2), 1: est(12.0, n=2), 2: est(14.0, se=0.5, n=2)})
    assert (e.mean, e.n) == (12.0, 3)
    assert e.se == pytest.approx(2 / math.sqrt(3))
    assert e.spread == "pretraining seeds (3) × head runs (2)"
    assert e.seeds == {0: 10.0, 1: 12.0, 2: 14.0}
    mixed = over_pretraining({0: est(1.0, n=2), 1: est(2.0, n=3)})
    assert mixed.spread == "pretraining seeds (2) × head runs (2-3)"


def test_one_pretraining_falls_back_to_its_head_runs() -> None:
    e = over_pretraining({7: est(10.0, se=1.5, n=5)})
    assert e == Estimate(10.0, 1.5, 5, "head runs only (one pretraining, 5 runs)")
    with pytest.raises(ValueError, match="at least one"):
        over_pretraining({})


def test_a_mean_over_tasks() -> None:
    # 40 ± 3 and 60 ± 4 of head runs: 50 ± √(9 + 16) / 2 = 2.5
    e = mean_of([est(40.0, se=3.0, n=2), est(60.0, se=4.0, n=3)])
    assert (e.mean, e.se, e.n, e.spread) == (50.0, 2.5, 2, RUNS)
    assert mean_of([est(40.0, se=None), est(60.0)]).se is None
    # over seeds: per-seed means over the tasks 50 and 54: mean 52, se √8 / √2 = 2
    seeds = "pretraining seeds (2) × head runs (2)"
    a = Estimate(42.0, 2.0, 2, seeds, {0: 40.0, 1: 44.0})
    b = Estimate(62.0, 2.0, 2, seeds, {0: 60.0, 1: 64.0})
    e = mean_of([a, b])
    assert (e.mean, e.n, e.spread, e.seeds) == (52.0, 2, seeds, {0: 50.0, 1: 54.0})
    assert e.se == pytest.approx(2.0)
    with pytest.raises(ValueError, match="at least one"):
        mean_of([])

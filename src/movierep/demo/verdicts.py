"""When a difference between two measured numbers means something: the demo's verdicts.

Every number a finding uses is an :class:`Estimate`: the mean over ``n`` independent
units, its standard error ``se = sd / √n`` (sample s.d., ``ddof = 1``) and ``spread``, a
label naming the units and their number (``"pretraining seeds (3) × head runs (2)"``,
``"head runs only (one pretraining, 5 runs)"``, ``"queries (40)"``). The rules, all of
them, are these:

1. **A comparison** (:func:`compare`) of ``a`` with ``b``:
   ``d = mean_a − mean_b`` (``mean_b − mean_a`` when lower is better, so ``d > 0``
   always favours ``a``) and ``se_d = √(se_a² + se_b²)``, at least ``floor / 2`` (the
   smallest difference the evaluation set can show: one test item). Its outcome is
   *undecided* when either side has no finite positive s.e. or fewer than 2 units, or
   ``d`` is not finite (an s.e. of exactly 0 means the units never varied, e.g. head runs
   that converged to the same predictions: the spread was not sampled, so it cannot vouch
   for a difference); otherwise *better* when ``d > 2·se_d``, *worse* when
   ``d < −2·se_d``, and *noise* in between. A known number (chance: a plain ``float``) is
   exact: it adds nothing to ``se_d``.
2. **"A beats B" claims** (:func:`claim_beats`), made of comparisons each oriented so
   that *better* supports the claim: *inconclusive* when none is decided (zero
   comparisons, or all undecided); *reproduced* when every one is better; *contradicted*
   when at least one is worse and none is better; *not reproduced* when at least one is
   better and another is worse or noise (the run shows part of the claim and not the
   rest); *inconclusive* otherwise (every decided one is noise, or the better ones stand
   beside undecided ones): a difference inside the noise refutes nothing.
3. **"A ≈ B" / "adds nothing" claims** (:func:`claim_equal`), one comparison and the
   effect ``Δ > 0`` the paper contrasts the claim with (in the metric's unit, measured
   in this run): *inconclusive* when the comparison is undecided or ``Δ`` is not a
   finite positive number; *contradicted* when it is better or worse (``|d| > 2·se_d``:
   the run measured a difference); *reproduced* when ``|d| + 2·se_d < Δ`` (the interval
   ``d ± 2·se_d`` lies inside ``±Δ``, so an effect as large as the contrasted one would
   have shown: noise alone is no proof of equality); *inconclusive* otherwise (inside the
   noise, but the noise is too wide to rule out an effect of size ``Δ``).
4. **Rank summaries** (:func:`tally`): "X ranks first over the tasks" is judged from
   per-task comparisons of X against every other row, never from ranks of means. Against
   one row, ``wins`` / ``losses`` count the tasks better / worse beyond two s.e. (rule
   1); the pair is *better* when ``wins − losses ≥ 2``, *worse* when
   ``losses − wins ≥ 2``, *undecided* when no task is decided, *noise* otherwise. The
   margin of two tasks keeps the false-alarm rate near a single comparison's: with no real
   difference a task lands beyond two s.e. on one side about 2.3 % of the time, one task
   in nine about one time in five, two about one time in sixty. The claim is then decided
   by rule 2 over the pairs.
5. **Claims made of several sub-claims** (:func:`claim_all`; "both untrained-TxE rows
   collapse to chance"): *reproduced* when every sub-claim is; *contradicted* when at
   least one is contradicted and none is reproduced or not reproduced; *inconclusive*
   when none is decided (all inconclusive, or none at all) or the reproduced ones stand
   beside inconclusive ones only; *not reproduced* otherwise.

6. **A comparison of pretrainings needs their seeds** (:func:`pretrainings_compared`):
   when the two rows differ by a pretraining (another backbone objective, a TxE trained
   by mask prediction or initialised at random, a scene encoder), the spread that matters
   is that pretraining's seed-to-seed spread; a side that carries such a pretraining must
   be an estimate over at least two of its seeds, else the comparison is *undecided*
   ("one pretraining of …": the heads' runs alone would call a lucky seed a result).

A summary over tasks (:func:`mean_of`: "mean top-1 over the seven tasks") is an estimate
too: over the pretraining seeds when every task carries the same seeds' means (the
per-seed mean over tasks, then ``sd / √P``), else ``se = √(Σ se_i²) / K`` over the K
tasks' head runs (each task's head is trained on its own, so their noise is independent).

With several pretraining seeds, :func:`over_pretraining` turns per-seed results (each the
mean over that seed's head runs) into one :class:`Estimate` over the seeds, so a
finding that compares pretrainings uses the spread that matters.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

#: Outcomes of one comparison (rule 1).
OUTCOMES = ("better", "worse", "noise", "undecided")
#: How many standard errors a difference must exceed to count.
Z = 2.0
#: The spread of a known number (chance) in a :class:`Comparison`.
KNOWN = "known value"


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def head_runs_spread(runs: int) -> str:
    """The spread of one pretraining's head runs: ``"head runs only (one pretraining, R runs)"``."""
    return f"head runs only (one pretraining, {runs} runs)"


@dataclass(frozen=True)
class Estimate:
    """A mean over ``n`` independent units with its standard error.

    Attributes:
        mean: The mean (NaN when nothing was measured).
        se: Its standard error, ``sd / √n``; None when there is none (one unit, or a
            summary such as a rank).
        n: The number of independent units the mean is over.
        spread: What the units are and how many, e.g. ``"queries (40)"``.
        seeds: ``{pretraining seed: that seed's mean}`` when the estimate is over
            pretraining seeds (:func:`over_pretraining`), else None.
    """

    mean: float
    se: float | None
    n: int
    spread: str
    seeds: dict[int, float] | None = None

    @classmethod
    def of(cls, values: Sequence[float], unit: str) -> Estimate:
        """Mean and ``sd / √n`` of ``values`` (one per unit; ``se`` None for fewer than 2).

        >>> Estimate.of([1.0, 3.0], "head runs")
        Estimate(mean=2.0, se=1.0, n=2, spread='head runs (2)', seeds=None)
        """
        n = len(values)
        if n == 0:
            return cls(math.nan, None, 0, f"{unit} (0)")
        mean = math.fsum(values) / n
        se = None
        if n > 1:
            se = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1) / n)
        return cls(mean, se, n, f"{unit} ({n})")

    def decides(self) -> bool:
        """Whether this estimate can take part in a decision: finite mean, s.e. > 0, n ≥ 2."""
        se = self.se
        return se is not None and math.isfinite(self.mean + se) and se > 0 and self.n >= 2


@dataclass(frozen=True)
class Comparison:
    """``a`` against ``b`` (rule 1).

    Attributes:
        a: The estimate the claim favours.
        b: The one it is compared with.
        d: ``a − b`` (``b − a`` when lower is better): > 0 favours ``a``.
        se: The standard error of ``d``, ``√(se_a² + se_b²)`` (at least ``floor / 2``);
            NaN when either side has none.
        spread: The spread the s.e. is over: ``a``'s, or ``"a's / b's"`` when they differ.
        outcome: One of :data:`OUTCOMES`.
    """

    a: Estimate
    b: Estimate
    d: float
    se: float
    spread: str
    outcome: str

    #: Why an undecided comparison is undecided, when rule 6 made it so.
    why: str = ""

    def text(self, digits: int = 2) -> str:
        """``"difference +1.20 ± 0.40 over head runs (5): better"``."""
        if self.outcome == "undecided":
            why = self.why or ("no standard error" if math.isfinite(self.d) else "no value")
            return f"difference {_num(self.d, digits, sign=True)} ({why}): undecided"
        return (
            f"difference {_num(self.d, digits, sign=True)} ± {_num(self.se, digits)} "
            f"over {self.spread}: {self.outcome}"
        )


def _num(x: float, digits: int, sign: bool = False) -> str:
    if not math.isfinite(x):
        return "n/a"
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


def compare(
    a: Estimate, b: Estimate | float, lower_is_better: bool = False, floor: float = 0.0
) -> Comparison:
    """Rule 1: the difference ``a − b``, its s.e. and whether it exceeds two s.e.

    Args:
        a: The estimate the claim favours.
        b: The estimate it is compared with, or a known number (chance) with ``se = 0``.
        lower_is_better: Whether a smaller value is better (an error, a loss, an MSE).
        floor: The smallest difference the evaluation can show (one test item, in the
            metric's unit); ``se_d`` is at least half of it.

    Example: ``a`` 10 ± 1, ``b`` 7 ± 1 (n = 5 each): ``d = 3``, ``se_d = √2 ≈ 1.41``,
    ``3 > 2.83``: better.
    """
    known = not isinstance(b, Estimate)
    other = Estimate(float(b), 0.0, 0, KNOWN) if not isinstance(b, Estimate) else b
    d = (other.mean - a.mean) if lower_is_better else (a.mean - other.mean)
    decides = a.decides() and (known or other.decides()) and math.isfinite(d)
    se = math.nan
    if a.se is not None and other.se is not None and math.isfinite(a.se + other.se):
        se = max(math.sqrt(a.se**2 + other.se**2), floor / 2)
    spread = a.spread if known or other.spread == a.spread else f"{a.spread} / {other.spread}"
    if not decides:
        outcome = "undecided"
    elif d > Z * se:
        outcome = "better"
    elif d < -Z * se:
        outcome = "worse"
    else:
        outcome = "noise"
    return Comparison(a, other, d, se, spread, outcome)


def pretrainings_compared(c: Comparison, a: str = "", b: str = "") -> Comparison:
    """Rule 6: ``c`` undecided unless each side that carries a compared pretraining has seeds.

    Args:
        c: the comparison (rule 1).
        a: the pretraining(s) side ``a`` carries that the comparison is about (e.g.
            ``"TxE mask prediction"``), or "" when none.
        b: the same for side ``b``.

    Returns:
        ``c`` when every named side is an estimate over ≥ 2 pretraining seeds; otherwise
        ``c`` made *undecided*, saying which pretraining ran once.
    """
    once = [
        what for what, e in ((a, c.a), (b, c.b)) if what and (e.seeds is None or len(e.seeds) < 2)
    ]
    if not once or c.outcome == "undecided":
        return c
    why = "one pretraining of " + " and ".join(dict.fromkeys(once)) + ": its seed spread "
    why += "was not measured"
    return dataclasses.replace(c, outcome="undecided", why=why)


def claim_beats(outcomes: Sequence[str]) -> str:
    """Rule 2: the verdict on "A beats B" from its comparisons' outcomes.

    >>> claim_beats(["better", "better"]), claim_beats(["better", "noise"])
    ('reproduced', 'not reproduced')
    >>> claim_beats(["worse", "noise"]), claim_beats(["noise", "undecided"]), claim_beats([])
    ('contradicted', 'inconclusive', 'inconclusive')
    """
    unknown = set(outcomes) - set(OUTCOMES)
    if unknown:
        raise ValueError(f"unknown outcomes {sorted(unknown)}: expected {OUTCOMES}")
    decided = [o for o in outcomes if o != "undecided"]
    if not decided:
        return "inconclusive"
    if all(o == "better" for o in outcomes):
        return "reproduced"
    better, worse = "better" in decided, "worse" in decided
    if worse and not better:
        return "contradicted"
    if better and (worse or "noise" in decided):
        return "not reproduced"
    return "inconclusive"


def claim_equal(comparison: Comparison, effect: float | None) -> str:
    """Rule 3: the verdict on "A ≈ B" given the contrasted effect ``Δ`` (``effect``).

    Example: ``d = 0.5 ± 1.0`` is noise; with ``Δ = 3`` it is reproduced
    (``0.5 + 2 < 3``), with ``Δ = 2`` inconclusive.
    """
    if comparison.outcome == "undecided" or effect is None or not 0 < effect < math.inf:
        return "inconclusive"
    if comparison.outcome in ("better", "worse"):
        return "contradicted"
    if abs(comparison.d) + Z * comparison.se < effect:
        return "reproduced"
    return "inconclusive"


@dataclass(frozen=True)
class Tally:
    """Per-task comparisons of one row against another (rule 4).

    Attributes:
        wins: Tasks better beyond two s.e.
        losses: Tasks worse beyond two s.e.
        ties: Tasks inside the noise.
        undecided: Tasks without a standard error.
        outcome: The pair's outcome (one of :data:`OUTCOMES`).
    """

    wins: int
    losses: int
    ties: int
    undecided: int
    outcome: str


#: Rule 4's margin: how many more tasks one row must win than it loses.
TASK_MARGIN = 2


def tally(comparisons: Sequence[Comparison]) -> Tally:
    """Rule 4: one row against another from its per-task comparisons."""
    count = {o: sum(c.outcome == o for c in comparisons) for o in OUTCOMES}
    wins, losses = count["better"], count["worse"]
    if wins + losses + count["noise"] == 0:
        outcome = "undecided"
    elif wins - losses >= TASK_MARGIN:
        outcome = "better"
    elif losses - wins >= TASK_MARGIN:
        outcome = "worse"
    else:
        outcome = "noise"
    return Tally(wins, losses, count["noise"], count["undecided"], outcome)


def claim_all(verdicts: Sequence[str]) -> str:
    """Rule 5: the verdict on a claim made of sub-claims, from their verdicts.

    >>> claim_all(["reproduced", "reproduced"]), claim_all(["reproduced", "contradicted"])
    ('reproduced', 'not reproduced')
    >>> claim_all(["contradicted", "inconclusive"]), claim_all(["reproduced", "inconclusive"])
    ('contradicted', 'inconclusive')
    """
    unknown = set(verdicts) - {"reproduced", "not reproduced", "contradicted", "inconclusive"}
    if unknown:
        raise ValueError(f"unknown verdicts {sorted(unknown)}")
    decided = {v for v in verdicts if v != "inconclusive"}
    if verdicts and decided == {"reproduced"} and len(set(verdicts)) == 1:
        return "reproduced"
    if decided == {"contradicted"}:
        return "contradicted"
    if not decided or decided == {"reproduced"}:
        return "inconclusive"
    return "not reproduced"


def mean_of(parts: Sequence[Estimate]) -> Estimate:
    """The mean of K estimates of different quantities (tasks) measured on the same units.

    Over pretraining seeds when every part carries the same ``P ≥ 2`` seeds: each seed's
    mean over the parts, then ``sd / √P`` (tasks of one pretraining move together, so this
    keeps their correlation). Otherwise ``mean = Σ m_i / K``, ``se = √(Σ se_i²) / K``
    (None when any part has none), ``n`` the fewest units of any part.

    Example: 40 ± 3 and 60 ± 4 (head runs): 50 ± 2.5.
    """
    if not parts:
        raise ValueError("mean_of needs at least one estimate")
    k = len(parts)
    keys = {tuple(sorted(e.seeds)) if e.seeds else () for e in parts}
    if len(keys) == 1 and len(next(iter(keys))) >= 2:
        seeds = next(iter(keys))
        per_seed = {s: math.fsum(e.seeds[s] for e in parts if e.seeds) / k for s in seeds}
        return _over_seeds(per_seed, parts[0].spread)
    mean = math.fsum(e.mean for e in parts) / k
    ses = [e.se for e in parts]
    se = None
    if all(_finite(x) for x in ses):
        se = math.sqrt(math.fsum(float(x) ** 2 for x in ses if x is not None)) / k
    spreads = list(dict.fromkeys(e.spread for e in parts))
    return Estimate(mean, se, min(e.n for e in parts), " / ".join(spreads))


def _over_seeds(per_seed: dict[int, float], spread: str) -> Estimate:
    e = Estimate.of(list(per_seed.values()), "pretraining seeds")
    return Estimate(e.mean, e.se, e.n, spread, dict(per_seed))


def over_pretraining(per_seed: dict[int, Estimate]) -> Estimate:
    """One estimate from per-pretraining-seed results (each the mean over its head runs).

    With ``P ≥ 2`` seeds: the mean of the per-seed means, ``se = sd / √P`` over the seeds
    (the head runs' noise is inside each seed's mean, so it is counted once), ``n = P``,
    spread ``"pretraining seeds (P) × head runs (R)"``. With one seed: that seed's estimate
    over its head runs, spread ``"head runs only (one pretraining, R runs)"``.

    Args:
        per_seed: ``{pretraining seed: estimate over that seed's head runs}``.

    Example: seeds at 10, 12 and 14 (2 head runs each): mean 12, se 2/√3 ≈ 1.15.
    """
    if not per_seed:
        raise ValueError("over_pretraining needs at least one seed's result")
    if len(per_seed) == 1:
        one = next(iter(per_seed.values()))
        return Estimate(one.mean, one.se, one.n, head_runs_spread(one.n))
    runs = sorted({e.n for e in per_seed.values()})
    r = str(runs[0]) if len(runs) == 1 else f"{runs[0]}-{runs[-1]}"
    spread = f"pretraining seeds ({len(per_seed)}) × head runs ({r})"
    return _over_seeds({s: e.mean for s, e in per_seed.items()}, spread)

"""Pocock–Simon minimization with a random element (Pocock & Simon 1975; Taves 1974).

For a new participant, each arm is tried in turn: the participant is added to it and, for
every factor, the imbalance of the arms' counts at the participant's level is measured on
counts divided by the allocation ratio (so 2:1 counts of 4 and 2 are balanced). The
weighted sum over factors scores the arm; the lowest-scoring arm(s) get probability ``p``
(shared in proportion to the ratio when several tie) and the others share ``1 − p``.

The draw for the *i*-th assignment comes from a stream keyed by ``(seed, i)`` only, so the
state can be rebuilt from the assignment history alone (:meth:`Minimizer.from_history`)
and give the same next allocation as the minimizer that made them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from fractions import Fraction
from numbers import Real
from typing import Any, Literal

import pandas as pd

from alstrial.domain.randomization.arms import ArmRatios
from alstrial.domain.randomization.errors import InvalidRandomizationSpec
from alstrial.domain.randomization.seeding import counter_uniform, validate_seed
from alstrial.domain.randomization.strata import normalise_factors, stratum_key

ImbalanceMeasure = Literal["range", "variance"]
_MEASURES: tuple[str, ...] = ("range", "variance")
_STREAM = "minimization/v1"


@dataclass(frozen=True)
class MinimizationDecision:
    """Why one participant got their arm: scores, preferred arms, probabilities and the draw."""

    index: int
    participant: Mapping[str, str]
    scores: Mapping[str, float]
    preferred: tuple[str, ...]
    probabilities: Mapping[str, float]
    draw: float
    arm: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "participant": dict(self.participant),
            "scores": dict(self.scores),
            "preferred": list(self.preferred),
            "probabilities": dict(self.probabilities),
            "draw": self.draw,
            "arm": self.arm,
        }

    def __str__(self) -> str:
        who = ", ".join(f"{k}={v}" for k, v in self.participant.items()) or "(no factors)"
        lines = [f"Minimization #{self.index}: {who} → {self.arm}", "  arm        score  probability"]
        for arm, score in self.scores.items():
            mark = "*" if arm in self.preferred else " "
            lines.append(f"  {arm:<8}{mark}{score:>7.3f}  {self.probabilities[arm]:>11.3f}")
        lines.append(f"  draw u = {self.draw:.6f}")
        return "\n".join(lines)


def _scaled_imbalance(adjusted: Sequence[int], measure: str) -> int:
    """Imbalance of integer ratio-adjusted counts, scaled to stay an integer (exact ties).

    Range: ``max − min``. Variance: ``k·Σa² − (Σa)²``, which is ``k²`` times the population
    variance; the common scale does not change which arm minimizes.
    """
    if measure == "range":
        return max(adjusted) - min(adjusted)
    return len(adjusted) * sum(a * a for a in adjusted) - sum(adjusted) ** 2


@dataclass(eq=False)
class Minimizer:
    """Allocate participants one at a time by Pocock–Simon minimization.

    ``factors`` are ``(name, levels)`` pairs in protocol order; ``weights`` maps factor
    names to positive weights (missing factors weigh 1); ``measure`` is ``"range"`` (max −
    min of ratio-adjusted counts) or ``"variance"``. ``p`` is the probability of the
    imbalance-minimizing arm, from ``1/len(arms)`` (pure chance) to 1 (deterministic).
    """

    arms: Sequence[tuple[str, int]]
    factors: Sequence[tuple[str, Sequence[str]]]
    _: KW_ONLY
    p: float = 0.8
    weights: Mapping[str, float] | None = None
    seed: int
    measure: ImbalanceMeasure = "range"
    _ratios: ArmRatios = field(init=False, repr=False)
    _levels: dict[str, tuple[str, ...]] = field(init=False, repr=False)
    _weights: dict[str, int | Fraction] = field(init=False, repr=False)
    _level_index: dict[str, dict[str, int]] = field(init=False, repr=False)
    _scale: tuple[int, ...] = field(init=False, repr=False)
    _denominator: int = field(init=False, repr=False)
    _counts: dict[str, list[list[int]]] = field(init=False, repr=False)
    _history: list[tuple[dict[str, str], str]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._ratios = ArmRatios.of(self.arms)
        self.arms = self._ratios.pairs()
        spec = normalise_factors(self.factors)
        if any(levels is None for _, levels in spec):
            raise InvalidRandomizationSpec(
                f"invalid value for factors, expected (name, levels) pairs (not {self.factors!r})"
            )
        self._levels = {name: levels for name, levels in spec if levels is not None}
        self.factors = tuple((name, levels) for name, levels in self._levels.items())
        if not self._levels:
            raise InvalidRandomizationSpec("minimization needs at least one factor (not [])")
        k = len(self._ratios.codes)
        p = self.p
        if isinstance(p, bool) or not isinstance(p, Real) or not math.isfinite(p) or not (1 / k <= p <= 1):
            raise InvalidRandomizationSpec(
                f"invalid value for p, expected a probability from 1/{k} to 1 for {k} arms (not {p!r}); "
                "below 1/k the rule would favour imbalance"
            )
        self.p = float(p)
        if self.measure not in _MEASURES:
            raise InvalidRandomizationSpec(
                f"invalid value for measure, expected one of {', '.join(map(repr, _MEASURES))} (not {self.measure!r})"
            )
        self.seed = validate_seed(self.seed)
        weights = dict(self.weights or {})
        unknown = [w for w in weights if w not in self._levels]
        if unknown:
            raise InvalidRandomizationSpec(
                f"weights name unknown factor(s) {unknown!r}; the factors are {list(self._levels)!r}"
            )
        self._weights = {}
        for name in self._levels:
            w = weights.get(name, 1.0)
            if isinstance(w, bool) or not isinstance(w, Real) or not math.isfinite(w) or w <= 0:
                raise InvalidRandomizationSpec(
                    f"invalid weight for factor {name!r}, expected a positive finite number (not {w!r})"
                )
            exact = Fraction(w)
            self._weights[name] = int(exact) if exact.denominator == 1 else exact
        self._level_index = {name: {lv: i for i, lv in enumerate(levels)} for name, levels in self._levels.items()}
        # counts × (lcm / ratio) are integers proportional to count / ratio
        lcm = math.lcm(*self._ratios.ratios)
        self._scale = tuple(lcm // r for r in self._ratios.ratios)
        self._denominator = lcm if self.measure == "range" else (k * lcm) ** 2
        self._counts = {name: [[0] * k for _ in levels] for name, levels in self._levels.items()}
        self._history = []

    # -- building state ----------------------------------------------------------------------
    @classmethod
    def from_history(
        cls,
        arms: Sequence[tuple[str, int]],
        factors: Sequence[tuple[str, Sequence[str]]],
        history: Iterable[tuple[Mapping[str, str], str]],
        *,
        p: float = 0.8,
        weights: Mapping[str, float] | None = None,
        seed: int,
        measure: ImbalanceMeasure = "range",
    ) -> Minimizer:
        """A minimizer in the state reached after ``history`` (``(factors, arm)`` in order).

        Because each draw depends only on the seed and the assignment number, the next
        assignment equals the one the original minimizer would have made.
        """
        m = cls(arms, factors, p=p, weights=weights, seed=seed, measure=measure)
        for participant, arm in history:
            m.record(participant, arm)
        return m

    def record(self, participant_factors: Mapping[str, str], arm: str) -> None:
        """Count an assignment made earlier (or by another route, e.g. an emergency override)."""
        values = self._check(participant_factors)
        if arm not in self._ratios.codes:
            raise InvalidRandomizationSpec(f"unknown arm {arm!r}, expected one of {list(self._ratios.codes)!r}")
        self._add(values, arm)

    def _add(self, values: dict[str, str], arm: str) -> None:
        j = self._ratios.codes.index(arm)
        for name, level in values.items():
            self._counts[name][self._level_index[name][level]][j] += 1
        self._history.append((values, arm))

    # -- allocating --------------------------------------------------------------------------
    def scores(self, participant_factors: Mapping[str, str]) -> dict[str, Fraction]:
        """The weighted imbalance that would result from each arm (lower is better), exactly."""
        values = self._check(participant_factors)
        return {a: Fraction(v, self._denominator) for a, v in self._scores(values).items()}

    def _scores(self, values: Mapping[str, str]) -> dict[str, int | Fraction]:
        """Scores in the scaled integer units (times the weights), for exact comparison."""
        rows = [
            (self._weights[name], self._counts[name][self._level_index[name][level]]) for name, level in values.items()
        ]
        scale = self._scale
        out: dict[str, int | Fraction] = {}
        for j, arm in enumerate(self._ratios.codes):
            total: int | Fraction = 0
            for weight, row in rows:
                adjusted = [(n + (i == j)) * s for i, (n, s) in enumerate(zip(row, scale, strict=True))]
                total += weight * _scaled_imbalance(adjusted, self.measure)
            out[arm] = total
        return out

    def decide(self, participant_factors: Mapping[str, str]) -> MinimizationDecision:
        """Allocate the next participant and explain the decision (the state is updated)."""
        values = self._check(participant_factors)
        scores = self._scores(values)
        best = min(scores.values())
        preferred = tuple(a for a in self._ratios.codes if scores[a] == best)
        others = tuple(a for a in self._ratios.codes if a not in preferred)
        probs: dict[str, float] = {}
        if not others:
            total = sum(self._ratios.ratio_of(a) for a in preferred)
            probs = {a: self._ratios.ratio_of(a) / total for a in preferred}
        else:
            top = sum(self._ratios.ratio_of(a) for a in preferred)
            rest = sum(self._ratios.ratio_of(a) for a in others)
            for a in self._ratios.codes:
                if a in preferred:
                    probs[a] = self.p * self._ratios.ratio_of(a) / top
                else:
                    probs[a] = (1 - self.p) * self._ratios.ratio_of(a) / rest
        index = len(self._history) + 1
        u = counter_uniform(self.seed, _STREAM, index)
        cumulative = 0.0
        arm = self._ratios.codes[-1]
        for a in self._ratios.codes:
            cumulative += probs[a]
            if u < cumulative and probs[a] > 0:
                arm = a
                break
        if probs[arm] == 0:  # rounding at the top end of the cumulative sum
            arm = max((a for a in self._ratios.codes if probs[a] > 0), key=self._ratios.codes.index)
        self._add(values, arm)
        return MinimizationDecision(
            index=index,
            participant=values,
            scores={a: float(Fraction(s, self._denominator)) for a, s in scores.items()},
            preferred=preferred,
            probabilities=probs,
            draw=u,
            arm=arm,
        )

    def assign(self, participant_factors: Mapping[str, str]) -> str:
        """Allocate the next participant and return the arm code."""
        return self.decide(participant_factors).arm

    # -- inspecting --------------------------------------------------------------------------
    @property
    def history(self) -> list[tuple[dict[str, str], str]]:
        """Every assignment so far, in order, as ``(factor values, arm)`` (a copy)."""
        return [(dict(v), a) for v, a in self._history]

    def __len__(self) -> int:
        return len(self._history)

    def counts(self) -> pd.DataFrame:
        """Assignments per arm at every factor level (rows ``factor, level``)."""
        rows = []
        for name, levels in self._levels.items():
            for i, level in enumerate(levels):
                row: dict[str, Any] = {"factor": name, "level": level}
                row.update(dict(zip(self._ratios.codes, self._counts[name][i], strict=True)))
                rows.append(row)
        return pd.DataFrame(rows, columns=["factor", "level", *self._ratios.codes])

    def max_marginal_imbalance(self) -> float:
        """The largest ratio-adjusted range (max − min) over every factor level."""
        worst = max(
            _scaled_imbalance([n * s for n, s in zip(row, self._scale, strict=True)], "range")
            for table in self._counts.values()
            for row in table
        )
        return float(Fraction(worst, math.lcm(*self._ratios.ratios)))

    def __str__(self) -> str:
        head = (
            f"Pocock–Simon minimizer: arms {self._ratios.label()}, p = {self.p:g}, "
            f"measure = {self.measure}, {len(self._history)} assigned"
        )
        return head + "\n" + self.counts().to_string(index=False)

    def _check(self, participant_factors: Mapping[str, str]) -> dict[str, str]:
        """The participant's level of every factor, in factor order; clear errors otherwise."""
        if isinstance(participant_factors, Mapping) and len(participant_factors) == len(self._levels):
            try:
                values = {name: participant_factors[name] for name in self._levels}
            except KeyError:
                values = None
            if values is not None and all(v in self._level_index[n] for n, v in values.items()):
                return values
        # slow path: stratum_key names the unknown factor, missing factor or bad level
        stratum_key(participant_factors, self.factors)
        raise InvalidRandomizationSpec(f"invalid participant factors {participant_factors!r}")

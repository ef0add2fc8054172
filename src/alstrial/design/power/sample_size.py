"""The smallest sample size reaching a target power, by bisection on simulated power.

Monte Carlo caveat: simulated power is an estimate (standard error sqrt(p(1-p)/reps), about
0.028 at 80 % with 200 replicates), so the simulated curve is not exactly monotone in N and the
bisection finds where *this* noisy curve crosses the target. The N it returns is uncertain by
roughly MCSE / slope of the power curve: with 200 replicates and a curve rising 10 points per
50 participants, about +-15 participants. Replicate r uses the same seed at every N (common
random numbers), which makes neighbouring sizes far more comparable than independent runs, but
confirm the answer with a run of many more replicates at the N found.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alstrial.design.power.run import DEFAULT_CHUNK, PowerStudy, run_power
from alstrial.design.power.scenarios import PowerError, build_scenario
from alstrial.protocol.models import Protocol

MAX_N = 5000


@dataclass(frozen=True)
class SampleSize:
    """The search's answer for one scenario and analysis."""

    values: dict[str, Any]
    analysis: str
    target: float
    n: int | None  # None: the target was not reached up to ``max_n``
    power: float
    mcse: float
    evaluations: list[tuple[int, float, float]] = field(default_factory=list)  # (N, power, MCSE), in search order

    def __str__(self) -> str:
        what = ", ".join(f"{k}={v}" for k, v in self.values.items()) or "protocol"
        if self.n is None:
            return f"{what} | {self.analysis}: power {self.target:g} not reached (best {self.power:.3f})"
        return f"{what} | {self.analysis}: N = {self.n} (power {self.power:.3f}, MCSE {self.mcse:.3f})"


def find_sample_sizes(
    protocol: Protocol,
    values: dict[str, Any],
    *,
    target: float,
    reps: int,
    seed: int,
    analyses: Sequence[str],
    out_dir: Path,
    start: int | None = None,
    max_n: int = MAX_N,
    chunk_size: int = DEFAULT_CHUNK,
    run: Callable[..., Any] = run_power,
    **run_options: Any,
) -> list[SampleSize]:
    """For each analysis, the smallest N (a multiple of the allocation block) with power >= ``target``.

    Sizes already simulated are reused across analyses (and across runs: their chunk files stay
    in ``out_dir``). Bisection stops when the bracket is one allocation block wide.
    """
    if not 0 < target < 1:
        raise PowerError(f"invalid value {target!r} for target power: expected a number between 0 and 1")
    if "participants" in values:
        raise PowerError("participants is what --target-power searches: do not put it in the grid")
    block = len(build_scenario(protocol, values).arms)
    cache: dict[int, tuple[dict[str, float], dict[str, float]]] = {}

    def power_at(n: int) -> tuple[dict[str, float], dict[str, float]]:
        if n not in cache:
            scenario = build_scenario(protocol, {**values, "participants": n})
            study = PowerStudy(protocol, [scenario], reps=reps, seed=seed, analyses=analyses, chunk_size=chunk_size)
            result = run(study, out_dir, publish=False, **run_options)
            s = result.summary.set_index("analysis")
            cache[n] = (s["power"].to_dict(), s["mcse"].to_dict())
        return cache[n]

    def rounded(n: float) -> int:
        return max(2 * block, round(n / block) * block)

    out = []
    for analysis in analyses:
        trail: list[tuple[int, float, float]] = []

        def p(n: int, analysis: str = analysis, trail: list[tuple[int, float, float]] = trail) -> float:
            pw, se = power_at(n)
            trail.append((n, pw[analysis], se[analysis]))
            return pw[analysis]

        lo = rounded(2 * block)
        hi = rounded(start or protocol.sample_size)
        if p(lo) >= target:
            hi = lo
        else:
            while p(hi) < target:
                lo, hi = hi, rounded(hi * 2)
                if hi > max_n:
                    break
            if hi <= max_n:
                while hi - lo > block:
                    mid = rounded((lo + hi) / 2)
                    if mid in (lo, hi):
                        break
                    if p(mid) >= target:
                        hi = mid
                    else:
                        lo = mid
        reached = hi <= max_n
        best = hi if reached else max((n for n, _, _ in trail), key=lambda n: power_at(n)[0][analysis])
        pw, se = power_at(best)
        out.append(
            SampleSize(
                values=dict(values),
                analysis=analysis,
                target=target,
                n=best if reached else None,
                power=pw[analysis],
                mcse=se[analysis],
                evaluations=trail,
            )
        )
    return out

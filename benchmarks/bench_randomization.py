"""Randomization speed: block lists and Pocock–Simon minimization against naive baselines.

Targets: the seed trial's list (12 strata × 60) well under 0.1 s; a 100,000-entry list under
5 s; one simulated 189-participant minimization trial under 10 ms, so that 10,000 simulated
trials cost under 2 minutes of minimization. The baselines are textbook implementations
written here: ``random.shuffle`` blocks without validation or kit codes, and a minimizer that
works in ``Fraction`` and seeds a numpy generator for every draw (this module's first design).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from fractions import Fraction

import numpy as np

from alstrial.domain.randomization import Minimizer, all_strata, generate_block_list

ARMS = [("MSC", 1), ("PBO", 1)]
SEED_TRIAL_FACTORS = [("site", [f"S{i:02d}" for i in range(1, 7)]), ("alsfrs_r_band", ["lt35", "ge35"])]
MIN_FACTORS = [*SEED_TRIAL_FACTORS, ("sex", ["F", "M"])]


def _best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def naive_block_list(strata: list[str], per_stratum: int, seed: int) -> list[tuple[str, int, str]]:
    rng = random.Random(seed)
    out = []
    for stratum in strata:
        n = 0
        while n < per_stratum:
            block = ["MSC", "PBO"] * rng.choice((1, 2, 3))
            rng.shuffle(block)
            for arm in block:
                n += 1
                out.append((stratum, n, arm))
    return out


def naive_minimize(people: list[dict[str, str]], seed: int, p: float = 0.8) -> list[str]:
    counts = {(f, lv): [0, 0] for f, levels in MIN_FACTORS for lv in levels}
    arms = ["MSC", "PBO"]
    out = []
    for i, who in enumerate(people, start=1):
        scores = []
        for j in range(2):
            total = Fraction(0)
            for f, lv in who.items():
                row = [Fraction(c) for c in counts[(f, lv)]]
                row[j] += 1
                total += max(row) - min(row)
            scores.append(total)
        rng = np.random.default_rng(np.random.SeedSequence([seed, i]))
        u = rng.random()
        if scores[0] == scores[1]:
            j = 0 if u < 0.5 else 1
        else:
            best = 0 if scores[0] < scores[1] else 1
            j = best if u < p else 1 - best
        for f, lv in who.items():
            counts[(f, lv)][j] += 1
        out.append(arms[j])
    return out


def _people(n: int) -> list[dict[str, str]]:
    rng = np.random.default_rng(0)
    return [
        {
            "site": f"S{rng.integers(1, 7):02d}",
            "alsfrs_r_band": str(rng.choice(["lt35", "ge35"])),
            "sex": str(rng.choice(["F", "M"])),
        }
        for _ in range(n)
    ]


def main() -> None:
    strata = all_strata(SEED_TRIAL_FACTORS)

    small = _best_of(lambda: generate_block_list(ARMS, strata, per_stratum=60, seed=1))
    small_base = _best_of(lambda: naive_block_list(strata, 60, 1))
    print(
        f"block list, seed trial (12 strata × 60):   {small * 1e3:8.2f} ms   target < 100 ms   "
        f"naive random.shuffle {small_base * 1e3:6.2f} ms   ratio {small / small_base:5.1f}×"
    )

    big_strata = [f"s{i}" for i in range(20)]
    big = _best_of(lambda: generate_block_list(ARMS, big_strata, per_stratum=5000, seed=1), repeat=1)
    big_base = _best_of(lambda: naive_block_list(big_strata, 5000, 1), repeat=1)
    print(
        f"block list, 20 strata × 5,000 (100k rows): {big:8.2f} s    target < 5 s      "
        f"naive random.shuffle {big_base:6.2f} s    ratio {big / big_base:5.1f}×"
    )
    print("  (the list also draws unique kit codes and re-validates every block; the naive one does neither)")

    people = _people(189)

    def run_minimizer() -> None:
        m = Minimizer(ARMS, MIN_FACTORS, seed=7)
        for who in people:
            m.assign(who)

    trials = 20
    mini = _best_of(lambda: [run_minimizer() for _ in range(trials)]) / trials
    mini_base = _best_of(lambda: [naive_minimize(people, 7) for _ in range(trials)]) / trials
    print(
        f"minimization, 189 participants × 3 factors: {mini * 1e3:7.2f} ms  target < 10 ms    "
        f"naive Fraction+SeedSequence {mini_base * 1e3:6.2f} ms   ratio {mini / mini_base:5.2f}×"
    )
    print(f"  → 10,000 simulated trials: {mini * 1e4:.0f} s of minimization")


if __name__ == "__main__":
    main()

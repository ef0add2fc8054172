"""Throughput of the simulator's fast path: time per simulated trial of 189 participants.

Target: 10,000 trials x 189 participants for power analysis. Runs a sample of trials with the
vectorised path and extrapolates; the baseline is the per-participant path (what a virtual
site uses), run on a smaller sample in the same process.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from alstrial.protocol.simulation import SimulationParams
from alstrial.simulate.cohort import simulate_cohort
from alstrial.simulate.participant import VirtualParticipant

N_PER_TRIAL = 189
TARGET_TRIALS = 10_000


def per_participant_trial(params: SimulationParams, rng: np.random.Generator) -> int:
    """One trial through the per-participant path: screen until 189 eligible, query all visits."""
    n = 0
    while n < N_PER_TRIAL:
        vp = VirtualParticipant.draw(params, rng)
        if not vp.screen()["eligible"]:
            continue
        vp.assign_arm("active" if n % 2 else "placebo", active=bool(n % 2))
        for d in params.visits.alsfrs_days:
            if vp.attends(d):
                vp.visit(d)
        for d in params.visits.csf_days:
            vp.biomarkers(d)
        n += 1
    return n


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--trials", type=int, default=200, help="fast-path trials to time")
    ap.add_argument("--baseline-trials", type=int, default=2)
    args = ap.parse_args(argv)
    params = SimulationParams()
    simulate_cohort(params, N_PER_TRIAL, seed=0)  # warm-up
    t0 = time.perf_counter()
    for s in range(args.trials):
        simulate_cohort(params, N_PER_TRIAL, seed=s)
    fast = (time.perf_counter() - t0) / args.trials
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for _ in range(args.baseline_trials):
        per_participant_trial(params, rng)
    slow = (time.perf_counter() - t0) / args.baseline_trials
    print(f"fast path: {1000 * fast:.1f} ms per trial of {N_PER_TRIAL} ({args.trials} trials timed)")
    print(f"  -> {TARGET_TRIALS:,} trials: {fast * TARGET_TRIALS / 60:.1f} min on one core (target: < 30 min)")
    print(f"per-participant path (baseline): {1000 * slow:.0f} ms per trial ({args.baseline_trials} timed)")
    print(f"speed-up of the fast path: {slow / fast:.0f}x")


if __name__ == "__main__":
    main()

"""Throughput of the simulator, and of simulate + primary MMRM per replicate (power analyses).

1. Time per simulated trial of 189 participants: the cohort fast path (``simulate_cohort``,
   data frames), many trials as arrays (``simulate_cohorts``), and the per-participant path a
   virtual site uses (baseline, small sample).
2. Replicates of the seed trial, simulated and analysed by the primary MMRM (US, REML,
   Kenward-Roger, change at W28): the regular path (``simulate_cohort`` → analysis datasets →
   ``AnalysisPlan.mmrm_change``) against the batch path (``simulate_cohorts`` →
   ``fit_primary_many``), replicates/s on one core, extrapolated to 10,000 replicates on 2 cores,
   and measured with 1 and 2 worker processes (speed-up ratio).
   Goal (issue 13): 10,000 replicates with the MMRM primary analysis in < 60 s on 2 cores.
Absolute times depend on machine load; ratios are measured in the same run.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import multiprocessing
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from alstrial.analysis.datasets import primary_visit_code
from alstrial.analysis.plan import AnalysisPlan
from alstrial.design.cohort_datasets import datasets_from_cohort
from alstrial.protocol import load_protocol
from alstrial.protocol.simulation import SimulationParams
from alstrial.simulate.batch import simulate_cohorts
from alstrial.simulate.cohort import simulate_cohort
from alstrial.simulate.participant import VirtualParticipant
from alstrial.stats.mmrm.batch import fit_primary_many
from alstrial.stats.mmrm.threads import single_blas_thread

N_PER_TRIAL = 189
TARGET_TRIALS = 10_000
GOAL_S = 60.0


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


@functools.cache
def _seed_trial() -> tuple[Any, tuple[str, ...], str, Any]:
    protocol = load_protocol()
    arms = tuple(a.code for a in protocol.arms)
    control = next(a.code for a in protocol.arms if a.is_control)
    endpoint = next(e for e in protocol.endpoints if e.method == "mmrm_change")
    return protocol, arms, control, endpoint


def batch_chunk(seeds: Sequence[int]) -> np.ndarray:
    """The batch path on one chunk of replicates: p values of the primary MMRM."""
    protocol, arms, control, _ = _seed_trial()
    with single_blas_thread():
        trials = simulate_cohorts(protocol.simulation, N_PER_TRIAL, list(seeds), arms=arms, control_arm=control)
        primary = list(trials.visit_days[1:]).index(protocol.visit(primary_visit_code(protocol)).day)
        strata = (trials.baseline_total < 35).astype(int)
        fits = fit_primary_many(trials.change(), trials.baseline_total, trials.active, strata, primary_visit=primary)
    return np.asarray(fits.p_value)


def regular_replicate(seed: int) -> float:
    """The regular path on one replicate: frames, analysis datasets, the plan's MMRM."""
    protocol, arms, control, endpoint = _seed_trial()
    with single_blas_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cohort = simulate_cohort(protocol.simulation, N_PER_TRIAL, seed=seed, arms=arms, control_arm=control)
        ds = datasets_from_cohort(cohort, protocol)
        return float(AnalysisPlan(protocol).mmrm_change(endpoint, ds.adqs, ds).p_value)


def _processes(seeds: list[int], workers: int, chunk: int) -> float:
    chunks = [seeds[i : i + chunk] for i in range(0, len(seeds), chunk)]
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:  # workers find this module by name (also when run by run_all.py)
        sys.path.insert(0, here)
    work = importlib.import_module(Path(__file__).stem).batch_chunk  # picklable by module name
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        pool.map(work, [[0]] * workers)  # warm-up: imports in every worker
        t0 = time.perf_counter()
        pool.map(work, chunks)
        return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--trials", type=int, default=40, help="trials timed per simulation path")
    ap.add_argument("--baseline-trials", type=int, default=1, help="per-participant path trials")
    ap.add_argument("--reps", type=int, default=80, help="replicates of simulate + MMRM (batch path)")
    ap.add_argument("--regular-reps", type=int, default=4, help="replicates through the regular path")
    args = ap.parse_args(argv)
    params = SimulationParams()
    seeds = list(range(args.trials))
    with single_blas_thread():
        simulate_cohort(params, N_PER_TRIAL, seed=0)  # warm-up
        t0 = time.perf_counter()
        for s in seeds:
            simulate_cohort(params, N_PER_TRIAL, seed=s)
        fast = (time.perf_counter() - t0) / args.trials
        t0 = time.perf_counter()
        simulate_cohorts(params, N_PER_TRIAL, seeds)
        arrays = (time.perf_counter() - t0) / args.trials
        rng = np.random.default_rng(0)
        t0 = time.perf_counter()
        for _ in range(args.baseline_trials):
            per_participant_trial(params, rng)
        slow = (time.perf_counter() - t0) / args.baseline_trials
    print(f"1. simulation of one trial of {N_PER_TRIAL} ({args.trials} trials timed)")
    print(f"  simulate_cohort (data frames)   {1000 * fast:7.1f} ms per trial")
    print(f"  simulate_cohorts (arrays)       {1000 * arrays:7.1f} ms per trial   {fast / arrays:.2f}x the frames path")
    print(f"  per-participant path (baseline) {1000 * slow:7.0f} ms per trial   ({slow / fast:.0f}x frames)")
    print(f"  -> {TARGET_TRIALS:,} trials as arrays: {arrays * TARGET_TRIALS / 60:.1f} min on one core")

    reps = list(range(1000, 1000 + args.reps))
    batch_chunk(reps[:2])  # warm-up
    t0 = time.perf_counter()
    for i in range(0, len(reps), 20):
        batch_chunk(reps[i : i + 20])
    batch = (time.perf_counter() - t0) / len(reps)
    regular_replicate(0)  # warm-up
    t0 = time.perf_counter()
    for s in range(args.regular_reps):
        regular_replicate(s)
    regular = (time.perf_counter() - t0) / args.regular_reps
    print("2. replicates of the seed trial: simulate + primary MMRM (US, REML, Kenward-Roger)")
    print(f"  regular path (frames, datasets, plan) {1000 * regular:7.1f} ms per replicate (n={args.regular_reps})")
    print(
        f"  batch path (arrays, fit_primary_many) {1000 * batch:7.1f} ms per replicate ({args.reps} timed), "
        f"{1 / batch:.1f} replicates/s on one core, {regular / batch:.1f}x the regular path"
    )
    print(
        f"  -> {TARGET_TRIALS:,} replicates on 2 cores (linear extrapolation): {TARGET_TRIALS * batch / 2:.0f} s "
        f"(goal < {GOAL_S:.0f} s, ratio {TARGET_TRIALS * batch / 2 / GOAL_S:.2f}); regular path "
        f"{TARGET_TRIALS * regular / 2:.0f} s"
    )
    one = _processes(reps, 1, 20)
    two = _processes(reps, 2, 20)
    print(
        f"  measured with worker processes: 1 worker {len(reps) / one:.1f} replicates/s, "
        f"2 workers {len(reps) / two:.1f} replicates/s (speed-up {one / two:.2f}x); "
        f"{TARGET_TRIALS:,} replicates at the 2-worker rate: {TARGET_TRIALS * two / len(reps):.0f} s"
    )


if __name__ == "__main__":
    main()

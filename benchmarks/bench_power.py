"""Simulation-based power: replicates per second, Dask speed-up, type I error, responder power.

1. Throughput: seed-trial replicates (189 participants, MMRM primary) per second on one core.
2. Dask: the same replicates on a LocalCluster with 1 and with 2 workers; the speed-up ratio
   (target: near-linear, i.e. close to 2 on our 2 cores when nothing else runs).
3. Type I error of the MMRM primary under the null (effect 0) with ``ALSTRIAL_BENCH_POWER_NULL``
   replicates (default 10,000 with ``ALSTRIAL_BENCH_FULL=1``, else 200): the rejection rate must
   lie in the binomial 99.9 % interval around 5 %. The run is resumable: chunk files go to
   ``ALSTRIAL_BENCH_POWER_DIR`` (default: a temporary folder).
4. Responder power at 35 % vs 15 %, simulated, against the closed-form two-proportion power
   (normal approximation, statsmodels ``NormalIndPower`` on Cohen's h). The simulated scenario:
   the responder threshold is raised to 1.75 points/month, where about 15 % of placebo
   participants improve that much by chance (regression to the mean after a run-in selected on
   decline, and rating noise), and the simulated effect removes up to 1.05 points/month of each
   treated participant's own decline, which moves about 35 % over the threshold (36.5 % at an
   effect of 1.2 and 32 % at 0.8 on 1,500-participant cohorts; 16.7 % vs 39.7 % on average over
   40 trials of 100 when this benchmark was written). The closed form is evaluated at
   the realised mean rates of the simulation as well as at the nominal 35 % / 15 %; the analysis
   compared is the unadjusted logistic regression (``responder_unadjusted``), the test the
   two-proportion formula describes.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pandas as pd
from scipy import stats
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from alstrial.design.power.replicates import replicate_seeds, run_chunk
from alstrial.design.power.run import PowerStudy, run_power
from alstrial.design.power.scenarios import build_scenario
from alstrial.protocol import load_protocol

FULL = os.environ.get("ALSTRIAL_BENCH_FULL") == "1"
NULL_REPS = int(os.environ.get("ALSTRIAL_BENCH_POWER_NULL", 10_000 if FULL else 200))
RESPONDER_REPS = int(os.environ.get("ALSTRIAL_BENCH_POWER_RESPONDER", 1000 if FULL else 100))
THROUGHPUT_REPS = 6
DASK_REPS = 8
RESPONDER_N = 100


def _folder(name: str) -> Path:
    root = os.environ.get("ALSTRIAL_BENCH_POWER_DIR")
    base = Path(root) if root else Path(tempfile.mkdtemp(prefix="bench_power_"))
    return base / name


def throughput() -> float:
    protocol = load_protocol()
    scenario = build_scenario(protocol, {})
    run_chunk(scenario, replicate_seeds(0, 0, 1), ("mmrm",))  # warm-up: imports, first fit
    t0 = time.perf_counter()
    run_chunk(scenario, replicate_seeds(0, 1, 1 + THROUGHPUT_REPS), ("mmrm",))
    rate = THROUGHPUT_REPS / (time.perf_counter() - t0)
    goal = 10_000 / 60 / 2
    print(
        f"seed trial (189 participants) + MMRM primary, one core: {rate:.2f} replicates/s "
        f"({1 / rate:.2f} s each); 10,000 would take {10_000 / rate / 60:.0f} min on one core. "
        f"Goal: 10,000 in < 60 s on 2 cores, i.e. > {goal:.0f} replicates/s per core (x{goal / rate:.0f} to go)"
    )
    return rate


def dask_speedup() -> None:
    protocol = load_protocol()
    scenario = build_scenario(protocol, {})
    times = {}
    for workers in (1, 2):
        study = PowerStudy(protocol, [scenario], reps=DASK_REPS, seed=1, analyses=("mmrm",), chunk_size=1)
        t0 = time.perf_counter()
        run_power(study, _folder(f"dask{workers}"), executor="dask", workers=workers, publish=False)
        times[workers] = time.perf_counter() - t0
    print(
        f"Dask LocalCluster, {DASK_REPS} seed-trial replicates (cluster start-up included): "
        f"1 worker {times[1]:.1f} s ({DASK_REPS / times[1]:.2f}/s), 2 workers {times[2]:.1f} s "
        f"({DASK_REPS / times[2]:.2f}/s); speed-up 1 -> 2 workers x{times[1] / times[2]:.2f} (target ~x2)"
    )


def type_one_error() -> None:
    protocol = load_protocol()
    null = build_scenario(protocol, {"effect": 0.0})
    study = PowerStudy(protocol, [null], reps=NULL_REPS, seed=2026, analyses=("mmrm",), chunk_size=25)
    t0 = time.perf_counter()
    result = run_power(study, _folder("null"), executor="processes")
    elapsed = time.perf_counter() - t0
    (row,) = result.summary.to_dict(orient="records")
    low, high = stats.binom.interval(0.999, NULL_REPS, 0.05)
    verdict = "PASS" if low <= row["rejections"] <= high else "FAIL"
    rate = result.computed / elapsed if result.computed else float("nan")
    print(
        f"type I error, MMRM primary, {NULL_REPS} null seed trials: {row['rejections']}/{NULL_REPS} = "
        f"{row['power']:.4f} (MCSE {row['mcse']:.4f}); 99.9 % binomial interval around 5 %: "
        f"{low / NULL_REPS:.4f} to {high / NULL_REPS:.4f} -> {verdict}; {row['failed']} failed fits; "
        f"{result.computed} computed now at {rate:.2f} replicates/s (all cores)"
    )


def responder_power() -> None:
    protocol = load_protocol()
    values = {"effect": 1.05, "responder_threshold": 1.75, "participants": RESPONDER_N}
    scenario = build_scenario(protocol, values)
    study = PowerStudy(protocol, [scenario], reps=RESPONDER_REPS, seed=35, analyses=("responder_unadjusted",))
    result = run_power(study, _folder("responder"), executor="processes")
    rows = pd.read_parquet(result.files["replicates.parquet"])
    (row,) = result.summary.to_dict(orient="records")
    p_control, p_active = rows["rate_control"].mean(), rows["rate_active"].mean()
    per_arm = RESPONDER_N / 2
    power = NormalIndPower()

    def closed(pa: float, pc: float) -> float:
        return float(power.power(proportion_effectsize(pa, pc), nobs1=per_arm, alpha=0.05, ratio=1.0))

    at_realised, at_nominal = closed(p_active, p_control), closed(0.35, 0.15)
    z = (row["power"] - at_realised) / row["mcse"] if row["mcse"] else float("nan")
    print(
        f"responder power, N={RESPONDER_N} (1:1), {RESPONDER_REPS} replicates: simulated rates placebo "
        f"{p_control:.3f}, active {p_active:.3f} (nominal 0.15 / 0.35); simulated power {row['power']:.3f} "
        f"(MCSE {row['mcse']:.3f}); closed form at the simulated rates {at_realised:.3f} "
        f"(difference {z:+.1f} MCSE), at 0.35 vs 0.15 {at_nominal:.3f}"
    )


def main() -> None:
    throughput()
    dask_speedup()
    responder_power()
    type_one_error()


if __name__ == "__main__":
    main()

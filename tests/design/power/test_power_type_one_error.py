"""Type I error of the MMRM primary analysis under the null, on simulated trials (quick version).

The benchmark (`benchmarks/bench_power.py`) runs 10,000 null replicates; this test runs 100
small ones (40 participants, 20 weeks) so that `make test` stays fast. With 100 replicates the
binomial 99.9 % interval around 5 % is 0 to 13 rejections: the test catches a grossly liberal or
broken analysis, and the p values' uniformity (Kolmogorov-Smirnov) adds a check of their whole
distribution, not only of the tail.
"""

from __future__ import annotations

from pathlib import Path

from power_fixtures import protocol
from scipy import stats

from alstrial.design.power.run import PowerStudy, run_power
from alstrial.design.power.scenarios import build_scenario

REPS = 100


def test_mmrm_rejects_five_percent_of_null_trials(tmp_path: Path) -> None:
    null = build_scenario(protocol, {"effect": 0.0, "participants": 40, "followup": 20})
    study = PowerStudy(protocol, [null], reps=REPS, seed=2026, analyses=("mmrm",), chunk_size=25)
    result = run_power(study, tmp_path, executor="inprocess")
    (row,) = result.summary.to_dict(orient="records")
    assert row["null"] and row["failed"] == 0
    low, high = stats.binom.interval(0.999, REPS, 0.05)
    assert low <= row["rejections"] <= high, row
    import pandas as pd

    p = pd.read_parquet(tmp_path / "replicates.parquet")["p_value"]
    assert stats.kstest(p, "uniform").pvalue > 0.001

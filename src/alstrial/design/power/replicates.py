"""One chunk of replicates of one scenario: simulate, build the analysis datasets, analyse.

``run_chunk`` is the unit of work every executor ships (in-process, local processes, Dask). It
takes the scenario, one ``SeedSequence`` per replicate and the analysis names, and returns one
row per replicate and analysis (:data:`RESULT_COLUMNS`): a faster simulator or MMRM path can
replace its inside without changing what comes out.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from alstrial.analysis.plan import AnalysisPlan
from alstrial.design.cohort_datasets import datasets_from_cohort
from alstrial.design.power.analyses import run_analysis
from alstrial.design.power.scenarios import Scenario
from alstrial.simulate.cohort import simulate_cohort
from alstrial.stats.mmrm.threads import single_blas_thread

RESULT_COLUMNS = (
    "replicate",
    "analysis",
    "estimate",
    "std_error",
    "p_value",
    "rejected",
    "rate_control",
    "rate_active",
    "error",
    "n_randomized",
    "n_screened",
    "n_dropout",
)


def replicate_seeds(root: int, start: int, stop: int) -> list[np.random.SeedSequence]:
    """Seeds of replicates ``start..stop-1``: child ``r`` of ``SeedSequence(root).spawn(...)``.

    Built directly from the spawn key, so a replicate's seed depends on ``root`` and its index
    only: not on the chunk it travels in, the scenario, or how many replicates there are.
    Replicate ``r`` of every scenario shares its seed (common random numbers), so scenarios
    differ by their design, not by their draws.
    """
    return [np.random.SeedSequence(root, spawn_key=(r,)) for r in range(start, stop)]


def run_chunk(
    scenario: Scenario, seeds: Sequence[np.random.SeedSequence], analyses: Sequence[str], alpha: float | None = None
) -> pd.DataFrame:
    """Simulate and analyse one trial per seed; rows in (replicate, analysis) order."""
    protocol = scenario.protocol
    alpha = protocol.analysis.alpha if alpha is None else alpha
    rows = []
    with single_blas_thread(), warnings.catch_warnings():
        # non-convergence and separation warnings of thousands of small fits: the fits' p values
        # and errors are what a power study records
        warnings.simplefilter("ignore")
        for ss in seeds:
            sim_seed, plan_seed = (int(x) for x in ss.generate_state(2, dtype=np.uint64))
            cohort = simulate_cohort(
                protocol.simulation,
                n=scenario.participants,
                seed=sim_seed,
                arms=scenario.arms,
                control_arm=scenario.control,
            )
            ds = datasets_from_cohort(cohort, protocol)
            plan = AnalysisPlan(protocol, seed=plan_seed % 2**31)
            p = cohort.participants
            common = {
                "replicate": int(ss.spawn_key[-1]),
                "n_randomized": len(p),
                "n_screened": cohort.n_screened,
                "n_dropout": int(p["dropout_day"].notna().sum()),
            }
            for name in analyses:
                row = run_analysis(name, plan, ds)
                row["rejected"] = bool(row["p_value"] < alpha)  # NaN (failed fit) compares False
                rows.append(common | row)
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS))


def run_replicates(scenario: Scenario, root: int, start: int, stop: int, analyses: Sequence[str]) -> pd.DataFrame:
    """Replicates ``start..stop-1`` of ``scenario`` under root seed ``root`` (what executors ship)."""
    return run_chunk(scenario, replicate_seeds(root, start, stop), analyses)

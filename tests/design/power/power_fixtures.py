"""Small, fast scenarios for the power-study tests (few participants, short follow-up).

Plain module values rather than fixtures: a conftest.py here would shadow the suite's root
``conftest`` module, which other tests import from.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from alstrial.analysis.datasets import AnalysisDatasets
from alstrial.analysis.plan import AnalysisPlan
from alstrial.design.cohort_datasets import adice_from_cohort, datasets_from_cohort
from alstrial.design.power.scenarios import Scenario, build_scenario
from alstrial.protocol import load_protocol
from alstrial.protocol.models import Protocol
from alstrial.simulate.cohort import simulate_cohort

#: cheap analyses (no mixed model) for tests about orchestration rather than statistics
CHEAP = ("responder", "cafs")

#: the seed trial
protocol: Protocol = load_protocol()
#: two 30-participant, 20-week scenarios: no effect and a large one
small: list[Scenario] = [
    build_scenario(protocol, {"effect": effect, "participants": 30, "followup": 20}) for effect in (0.0, 1.0)
]


def replicate_rows(out: Path) -> pd.DataFrame:
    """A study's replicates.parquet in a canonical row order (chunks may finish in any order)."""
    rows = pd.read_parquet(out / "replicates.parquet")
    return rows.sort_values(["scenario", "replicate", "analysis"]).reset_index(drop=True)


def reference_trial(scenario: Scenario, seed: np.random.SeedSequence) -> tuple[AnalysisPlan, AnalysisDatasets]:
    """Replicate ``seed`` by the per-trial reference path, written here independently of
    ``run_chunk``: simulate_cohort, its analysis datasets, and a plan given its intercurrent events."""
    sim_seed, plan_seed = (int(x) for x in seed.generate_state(2, dtype=np.uint64))
    cohort = simulate_cohort(
        scenario.protocol.simulation,
        n=scenario.participants,
        seed=sim_seed,
        arms=scenario.arms,
        control_arm=scenario.control,
    )
    plan = AnalysisPlan(scenario.protocol, seed=plan_seed % 2**31, adice=adice_from_cohort(cohort, scenario.protocol))
    return plan, datasets_from_cohort(cohort, scenario.protocol)

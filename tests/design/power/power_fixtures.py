"""Small, fast scenarios for the power-study tests (few participants, short follow-up).

Plain module values rather than fixtures: a conftest.py here would shadow the suite's root
``conftest`` module, which other tests import from.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from alstrial.design.power.scenarios import Scenario, build_scenario
from alstrial.protocol import load_protocol
from alstrial.protocol.models import Protocol

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

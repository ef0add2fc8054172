"""Matched simulated placebo trajectories and the classifier that tries to tell them from a reference.

No real ALS trajectories ship with the repository, so the references here are simulated: one from
the same model (the classifier must stay near chance) and one from a model with a five times
larger visit-level shock (it must be caught well above chance). With real data the reference is
the user's file (``alstrial simulate --against FILE``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alstrial.protocol.simulation import SimulationParams
from alstrial.simulate.cohort import simulate_cohort
from alstrial.simulate.errors import SimulationError
from alstrial.simulate.matching import (
    FEATURES,
    distinguishability,
    matched_placebo,
    relative_schedule,
    trajectory_features,
)


def _reference(params: SimulationParams, n: int, seed: int) -> pd.DataFrame:
    v = simulate_cohort(params, n, seed=seed, arms=("placebo",)).visits
    v = v.loc[v["day"] >= 0, ["id", "day", "total"]].copy()
    v["day"] = v["day"] + 1000  # any origin: matching works on days from each subject's first total
    return v


def _noisy() -> SimulationParams:
    d = SimulationParams().model_dump()
    d["progression"]["visit_noise_sd_points"] = 0.6
    return SimulationParams.model_validate(d)


@pytest.fixture(scope="module")
def same_model() -> tuple[pd.DataFrame, pd.DataFrame]:
    ref = _reference(SimulationParams(), 250, seed=12)
    return ref, matched_placebo(ref, pool=800, seed=1)


def test_matched_sample_has_the_references_first_totals_and_schedules(same_model) -> None:  # type: ignore[no-untyped-def]
    ref, sim = same_model
    rel = relative_schedule(ref)
    first_ref = rel.groupby("id")["total"].first()
    first_sim = sim.groupby("id")["total"].first()
    first_sim.index = first_sim.index.str.removeprefix("sim-")
    both = first_ref.index.intersection(first_sim.index)
    assert len(both) >= 0.95 * len(first_ref)
    assert (first_ref[both] - first_sim[both]).abs().mean() < 1.0  # nearest first total
    for sid in both[:20]:
        sim_days = sim.loc[sim["id"] == f"sim-{sid}", "day"].tolist()
        assert set(sim_days) <= set(rel.loc[rel["id"] == sid, "day"].tolist())


def test_features_by_hand() -> None:
    long = pd.DataFrame({"id": ["a"] * 5, "day": np.arange(5) * 30.4375, "total": [40, 40, 38, 38, 39]})
    f = trajectory_features(long).iloc[0]
    assert list(f.index) == list(FEATURES)
    assert f["unchanged_share"] == pytest.approx(0.5)
    assert f["largest_drop"] == 2 and f["largest_rise"] == 1
    assert f["mean_abs_change"] == pytest.approx(3 / 4)


def test_same_model_is_near_chance(same_model) -> None:  # type: ignore[no-untyped-def]
    ref, sim = same_model
    d = distinguishability(ref, sim)
    assert abs(d.auc - 0.5) < 0.1, str(d)


def test_a_model_with_a_larger_visit_shock_is_caught() -> None:
    ref = _reference(_noisy(), 250, seed=11)
    d = distinguishability(ref, matched_placebo(ref, pool=800, seed=1))
    assert d.auc > 0.75, str(d)
    assert d.auc - 3 * d.auc_se > 0.5
    # the clue is the step texture, not the trend: larger visit-to-visit moves in the reference
    assert "mean_abs_change" in d.strongest_clues or "residual_sd" in d.strongest_clues
    assert "AUC" in str(d) and "Strongest clues" in str(d)


def test_too_few_trajectories_is_a_clear_error() -> None:
    ref = _reference(SimulationParams(), 4, seed=3)
    with pytest.raises(SimulationError, match="at least 10 trajectories"):
        distinguishability(ref, ref)

"""The per-participant path (what a virtual site queries) and the fast path are one model."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from alstrial.protocol.simulation import SimulationParams
from alstrial.simulate.calibration import participant_slopes
from alstrial.simulate.cohort import simulate_cohort
from alstrial.simulate.errors import SimulationError
from alstrial.simulate.participant import VirtualParticipant

N = 1500


@pytest.fixture(scope="module")
def paths() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    params = SimulationParams()
    fast = simulate_cohort(params, N, seed=21, arms=("placebo",))
    p = fast.participants
    slopes = participant_slopes(fast.visits).reindex(p["id"]).to_numpy()
    fast_out = {
        "baseline": p["baseline_total"].to_numpy(float),
        "slope": slopes,
        "dropout": p["dropout_day"].notna().to_numpy(),
        "niv": (p["niv_day"] <= 196).to_numpy(),
        "svc": p["baseline_svc"].to_numpy(),
        "screen_fail": np.array([fast.screen_failure_fraction]),
    }
    rng = np.random.default_rng(22)
    base, slope, drop, niv, svc = [], [], [], [], []
    screened = 0
    days = np.asarray(params.visits.alsfrs_days, dtype=float)
    while len(base) < N:
        vp = VirtualParticipant.draw(params, rng)
        if not vp.alive(params.visits.screening_day):
            continue
        screened += 1
        if not vp.screen()["eligible"]:
            continue
        vp.assign_arm("placebo", active=False)
        left, _ = vp.dropout()
        seen = [d for d in days if vp.attends(d) and vp.alive(d)]
        tot = np.array([vp.visit(d)["total"] for d in seen], dtype=float)
        base.append(vp.visit(0)["total"])
        svc.append(vp.visit(0)["svc"])
        slope.append(np.polyfit(np.array(seen) / (365.25 / 12), tot, 1)[0] if len(seen) >= 3 else np.nan)
        drop.append(left is not None)
        niv.append(vp.has_event("niv", 196))
    one = {
        "baseline": np.array(base, float),
        "slope": np.array(slope),
        "dropout": np.array(drop),
        "niv": np.array(niv),
        "svc": np.array(svc),
        "screen_fail": np.array([1 - N / screened]),
    }
    return fast_out, one


@pytest.mark.parametrize("name", ["baseline", "slope", "svc"])
def test_continuous_distributions_agree(paths, name: str) -> None:  # type: ignore[no-untyped-def]
    a, b = paths[0][name], paths[1][name]
    res = stats.ks_2samp(a[~np.isnan(a)], b[~np.isnan(b)])
    assert res.pvalue > 0.001, (name, res)


@pytest.mark.parametrize("name", ["dropout", "niv"])
def test_event_rates_agree(paths, name: str) -> None:  # type: ignore[no-untyped-def]
    a, b = paths[0][name], paths[1][name]
    table = np.array([[a.sum(), (~a).sum()], [b.sum(), (~b).sum()]])
    assert stats.chi2_contingency(table).pvalue > 0.001, (name, table)


def test_screen_failure_fractions_agree(paths) -> None:  # type: ignore[no-untyped-def]
    assert abs(paths[0]["screen_fail"][0] - paths[1]["screen_fail"][0]) < 0.05


def test_queries_are_remembered_and_ordered() -> None:
    vp = VirtualParticipant.draw(rng=np.random.default_rng(1))
    assert vp.visit(-90) == vp.visit(-90)
    with pytest.raises(SimulationError, match="assign_arm"):
        vp.visit(28)
    vp.assign_arm("active", active=True)
    with pytest.raises(SimulationError, match="already randomized"):
        vp.assign_arm("placebo", active=False)
    rec = vp.visit(28)
    assert set(rec) >= {"q1", "q5a", "q5b", "q12", "total", "svc"}
    with pytest.raises(SimulationError, match="unknown event"):
        vp.event_day("stroke")

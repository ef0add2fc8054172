"""A simulated trial's intercurrent events reach the power study's analyses as they reach the plan.

Two routes must agree: the plan applies the estimands to data frames with the cohort's ADICE
(``adice_from_cohort``); the fast paths apply them to arrays (``design.power.intercurrent``).
The trial below is chosen so that both strategies have something to act on (values after
permanent ventilation set aside for the MMRM, ventilation or death before week 28 a non-response).
"""

from __future__ import annotations

import numpy as np
from power_fixtures import protocol

from alstrial.analysis.estimands import apply_strategies
from alstrial.analysis.plan import AnalysisPlan
from alstrial.design.cohort_datasets import adice_from_cohort, datasets_from_cohort
from alstrial.design.power.intercurrent import composite_failures, last_visit_day, recorded_days, set_aside
from alstrial.simulate.cohort import simulate_cohort
from alstrial.simulate.latent import EVENT_NAMES

PLACEBO, ACTIVE = (a.code for a in sorted(protocol.arms, key=lambda a: not a.is_control))
MMRM = next(e for e in protocol.endpoints if e.method == "mmrm_change")
RESPONDER = next(e for e in protocol.endpoints if e.method == "responder")


def _cohort():
    for seed in range(40):
        cohort = simulate_cohort(protocol.simulation, n=120, seed=seed, arms=(PLACEBO, ACTIVE), control_arm=PLACEBO)
        adice = adice_from_cohort(cohort, protocol)
        if {"permanent_assisted_ventilation", "death"} <= set(adice["EVENT"]):
            return cohort, adice
    raise AssertionError("no simulated trial with both ventilation and death on study in 40 seeds")


COHORT, ADICE = _cohort()
P = COHORT.participants
DAYS = recorded_days(
    {name: P[f"{name}_day"].to_numpy(dtype=float) for name in EVENT_NAMES},
    P["dropout_day"].to_numpy(dtype=float),
    last_visit_day(protocol),
)


def test_adice_holds_the_events_on_study_with_the_capture_kinds_and_calendar_days() -> None:
    assert list(ADICE.columns) == ["USUBJID", "EVENT", "ADY"]
    by_id = P.set_index("id")
    for row in ADICE.itertuples():
        name = {"niv_start": "niv", "permanent_assisted_ventilation": "pav"}.get(row.EVENT, row.EVENT)
        day = by_id.loc[row.USUBJID, f"{name}_day"]
        left = by_id.loc[row.USUBJID, "dropout_day"]
        assert np.floor(day) == row.ADY and 0 <= day <= last_visit_day(protocol)
        assert np.isnan(left) or day <= left
    # an event after the participant left is not reported to the trial
    pav, left = P["pav_day"].to_numpy(float), P["dropout_day"].to_numpy(float)
    late = P["id"][(pav > left) & (pav >= 0)]
    assert not ADICE[(ADICE["EVENT"] == "permanent_assisted_ventilation") & ADICE["USUBJID"].isin(late)].shape[0]


def test_the_arrays_set_aside_the_values_the_plans_strategies_set_aside() -> None:
    ds = datasets_from_cohort(COHORT, protocol)
    kept, log = apply_strategies(ds.adqs, ADICE, protocol.estimand_for(MMRM.id))
    dropped = ds.adqs.merge(kept[["USUBJID", "ADY"]], how="left", indicator=True)
    dropped = dropped[dropped["_merge"] == "left_only"]
    assert len(dropped) > 0, "the trial must give the strategy something to set aside"

    days = np.asarray(protocol.simulation.visits.alsfrs_days, dtype=float)
    mask = set_aside(protocol, MMRM.id, days, DAYS)  # (n, m)
    ids = P["id"].to_numpy()
    from_arrays = {(ids[i], days[j]) for i, j in zip(*np.nonzero(mask), strict=True)}
    # a set-aside visit the participant did not attend has no row in ADQS to drop
    attended = set(zip(ds.adqs["USUBJID"], ds.adqs["ADY"].astype(float), strict=True))
    assert from_arrays & attended == set(zip(dropped["USUBJID"], dropped["ADY"].astype(float), strict=True))
    assert sum(e["values_set_aside"] for e in log.to_dict()["intercurrent_events"] if "values_set_aside" in e) == len(
        dropped
    )


def test_the_arrays_count_the_same_composite_non_responses_as_the_plan() -> None:
    ds = datasets_from_cohort(COHORT, protocol)
    plan = AnalysisPlan(protocol, adice=ADICE)
    frame, _ = plan.responder_frame(ds, RESPONDER)
    from_plan = set(frame.loc[np.isneginf(frame["SLOPECHG"]), "USUBJID"])
    day = float(protocol.visit(RESPONDER.visit or plan.primary_visit).day)
    failed = composite_failures(protocol, RESPONDER.id, day, DAYS)
    assert from_plan == set(P["id"][failed]) and len(from_plan) > 0
    # without the cohort's events, the plan would count nobody as a composite failure
    bare, _ = AnalysisPlan(protocol).responder_frame(ds, RESPONDER)
    assert not np.isneginf(bare["SLOPECHG"]).any()

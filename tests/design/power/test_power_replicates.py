"""Per-replicate seeds and the chunk function: a replicate's result depends on its seed only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from power_fixtures import CHEAP, protocol, reference_trial, small

from alstrial.design.power.analyses import run_analysis
from alstrial.design.power.array_analyses import array_analyses_supported
from alstrial.design.power.replicates import RESULT_COLUMNS, fast_mmrm, replicate_seeds, run_chunk
from alstrial.design.power.scenarios import Scenario, build_scenario
from alstrial.protocol.models import Protocol


def test_replicate_seeds_are_the_children_of_the_root_seed_sequence() -> None:
    spawned = np.random.SeedSequence(2026).spawn(9)
    direct = replicate_seeds(2026, 4, 9)
    assert [s.generate_state(4).tolist() for s in direct] == [s.generate_state(4).tolist() for s in spawned[4:]]
    assert (
        replicate_seeds(2026, 0, 1)[0].generate_state(2).tolist()
        != replicate_seeds(2027, 0, 1)[0].generate_state(2).tolist()
    )


def test_chunk_rows_do_not_depend_on_how_replicates_are_chunked() -> None:
    whole = run_chunk(small[1], replicate_seeds(7, 0, 3), CHEAP)
    parts = pd.concat(
        [run_chunk(small[1], replicate_seeds(7, 2, 3), CHEAP), run_chunk(small[1], replicate_seeds(7, 0, 2), CHEAP)]
    )
    parts = parts.sort_values(["replicate"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(whole, parts)
    assert tuple(whole.columns) == RESULT_COLUMNS
    assert whole["replicate"].tolist() == [0, 0, 1, 1, 2, 2]
    assert whole["analysis"].tolist() == list(CHEAP) * 3
    assert (whole["n_randomized"] == 30).all() and (whole["n_screened"] >= 30).all()
    # different seeds give different trials (a fit may legitimately fail on 30 participants, e.g.
    # perfect separation in the adjusted logistic model: its p value is NaN)
    ok = whole["error"] == ""
    assert ok.sum() >= 4 and whole.loc[ok, "p_value"].nunique() == ok.sum()


def test_rejection_is_p_below_the_protocol_alpha_and_failed_fits_reject_nothing() -> None:
    rows = run_chunk(small[1], replicate_seeds(3, 0, 2), ("mmrm", "cafs"), alpha=0.5)
    ok = rows["error"] == ""
    assert ok.all(), rows["error"].tolist()
    assert (rows["rejected"] == (rows["p_value"] < 0.5)).all()
    # the MMRM estimate is the active-minus-placebo change: a 1 point/month slowing shows as > 0
    assert (rows.loc[rows["analysis"] == "mmrm", "estimate"] > 0).all()


def test_common_random_numbers_same_replicate_same_participants_across_effects() -> None:
    null = run_chunk(small[0], replicate_seeds(5, 0, 1), ("responder_unadjusted",))
    treated = run_chunk(small[1], replicate_seeds(5, 0, 1), ("responder_unadjusted",))
    # the same people were screened and randomized; only the treatment changed their outcome
    assert null["n_screened"].tolist() == treated["n_screened"].tolist()
    assert null["rate_control"].tolist() == treated["rate_control"].tolist()
    assert treated["rate_active"].iloc[0] > null["rate_active"].iloc[0]


def test_every_analysis_runs_on_a_simulated_trial() -> None:
    """A fit that fails (here: perfect separation of 30 participants' responses by 5 covariates)
    is recorded with its error and counts as no rejection; the others give a p value."""
    from alstrial.design.power.analyses import ANALYSES

    rows = run_chunk(small[1], replicate_seeds(9, 0, 1), tuple(ANALYSES)).set_index("analysis")
    ok = rows["error"] == ""
    assert ok[["mmrm", "mmrm_satterthwaite", "mmrm_mi_mar", "mmrm_mi_j2r", "cafs", "slope"]].all(), rows["error"]
    assert rows.loc[ok, "p_value"].between(0, 1).all() and (rows.loc[ok, "std_error"] > 0).all()
    failed = rows[~ok]
    assert failed["p_value"].isna().all() and not failed["rejected"].any()
    assert failed["error"].str.contains("separation").all()
    assert rows.loc["mmrm", "estimate"] == rows.loc["mmrm_satterthwaite", "estimate"]


def _regular_rows(scenario: Scenario, seeds: list[np.random.SeedSequence], names: tuple[str, ...]) -> pd.DataFrame:
    """The per-trial path: simulate_cohort, the analysis datasets, the plan's own MMRM fit."""
    rows = []
    for ss in seeds:
        plan, ds = reference_trial(scenario, ss)
        rows += [run_analysis(name, plan, ds) for name in names]
    return pd.DataFrame(rows)


FAST = ("mmrm", "mmrm_satterthwaite")


def test_fast_mmrm_path_equals_the_plans_regular_fit_on_the_same_trials() -> None:
    """Arrays + fit_primary_many give the plan's KR and Satterthwaite results on the same simulated
    trials. Tolerance 1e-6 relative: both fits stop at a Newton decrement below 1e-20 and differ
    only in the order of floating-point sums (tests/stats/test_mmrm_batch.py uses the same)."""
    scenario = build_scenario(protocol, {"effect": 0.5, "participants": 80, "followup": 24})
    fast = fast_mmrm(scenario, FAST)
    assert fast is not None and fast.df == {"mmrm": "kenward-roger", "mmrm_satterthwaite": "satterthwaite"}
    seeds = replicate_seeds(13, 0, 3)
    got = run_chunk(scenario, seeds, FAST)
    expected = _regular_rows(scenario, seeds, FAST)
    assert (got["error"] == "").all() and (expected["error"] == "").all()
    assert got["analysis"].tolist() == expected["analysis"].tolist()
    for col in ("estimate", "std_error", "p_value"):
        np.testing.assert_allclose(got[col], expected[col], rtol=1e-6, err_msg=col)
    # the two df methods give different p values, so the comparison above can tell them apart
    assert not np.allclose(got["p_value"][::2], got["p_value"][1::2], rtol=1e-6)


def test_fast_mmrm_rows_do_not_depend_on_chunking_or_on_the_other_analyses() -> None:
    """Alone, the trials are simulated as arrays (simulate_cohorts); beside an analysis that needs
    the datasets, they come from simulate_cohort: the same trials, so bit-identical MMRM rows."""
    scenario = small[1]
    whole = run_chunk(scenario, replicate_seeds(8, 0, 3), FAST)
    parts = pd.concat(
        [run_chunk(scenario, replicate_seeds(8, 1, 3), FAST), run_chunk(scenario, replicate_seeds(8, 0, 1), FAST)]
    )
    parts = parts.sort_values("replicate", kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(whole, parts)
    mixed = run_chunk(scenario, replicate_seeds(8, 0, 3), ("mmrm", "cafs", "mmrm_satterthwaite"))
    assert mixed["analysis"].tolist() == ["mmrm", "cafs", "mmrm_satterthwaite"] * 3
    pd.testing.assert_frame_equal(whole, mixed[mixed["analysis"] != "cafs"].reset_index(drop=True))
    assert whole["p_value"].nunique() == len(whole)


def test_a_design_the_fast_path_cannot_express_runs_the_regular_analysis() -> None:
    """A df method fit_primary_many does not have (between-within) keeps the plan's own fit."""
    endpoints = [
        e.model_copy(update={"parameters": {**e.parameters, "df": "between-within"}})
        if e.method == "mmrm_change"
        else e
        for e in protocol.endpoints
    ]
    scenario = build_scenario(
        protocol.model_copy(update={"endpoints": endpoints}), {"participants": 40, "followup": 20}
    )
    assert fast_mmrm(scenario, ("mmrm",)) is None
    assert fast_mmrm(scenario, ("mmrm_satterthwaite",)) is not None
    assert fast_mmrm(small[0], ("cafs",)) is None
    seeds = replicate_seeds(2, 0, 1)
    got = run_chunk(scenario, seeds, ("mmrm",))
    expected = _regular_rows(scenario, seeds, ("mmrm",))
    assert got["p_value"].tolist() == expected["p_value"].tolist()


def _with_responder_rule(**parameters: object) -> Protocol:
    endpoints = [
        e.model_copy(update={"parameters": {**e.parameters, **parameters}}) if e.method == "responder" else e
        for e in protocol.endpoints
    ]
    return protocol.model_copy(update={"endpoints": endpoints})


@pytest.mark.parametrize(
    "rule",
    [
        {},
        {"pre_slope_method": "two_point", "post_slope_method": "two_point", "missing_post_slope": "nonresponder"},
        # onset-based slopes are shallower: a lower threshold keeps both arms' responders away from 0
        {"pre_slope_method": "onset_dfs", "threshold_points_per_month": 0.25},
    ],
)
def test_array_analyses_equal_the_per_trial_analyses_on_the_same_trials(rule: dict[str, object]) -> None:
    """Responder (unadjusted) and CAFS computed from simulate_cohorts' arrays give the plan's
    results on simulate_cohort's datasets of the same trials, for each slope rule. Tolerance
    1e-12 relative: the same engines on the same numbers; only the slopes' sums are formed in a
    different order (on these trials they came out bit-identical)."""
    scenario = build_scenario(_with_responder_rule(**rule), {"effect": 1.0, "participants": 60, "followup": 20})
    names = ("responder_unadjusted", "cafs")
    assert array_analyses_supported(scenario.protocol)
    seeds = replicate_seeds(17, 0, 3)
    got = run_chunk(scenario, seeds, names)
    expected = _regular_rows(scenario, seeds, names)
    assert got["analysis"].tolist() == expected["analysis"].tolist()
    assert (got["error"] == "").all() and (expected["error"] == "").all()
    for col in ("estimate", "std_error", "p_value", "rate_control", "rate_active"):
        np.testing.assert_allclose(got[col], expected[col], rtol=1e-12, err_msg=col)
    assert got["p_value"].nunique() == len(got)
    assert got["rate_control"].dropna().between(0.05, 0.95).all(), got["rate_control"]


def test_a_csf_visit_outside_the_alsfrs_schedule_keeps_the_per_trial_cafs() -> None:
    """A CSF-only visit adds a visit column to the plan's CAFS data: the arrays cannot say so."""
    scenario = build_scenario(protocol, {"participants": 40, "followup": 20, "visits.csf_days": [0, 42, 140]})
    assert not array_analyses_supported(scenario.protocol)
    seeds = replicate_seeds(4, 0, 1)
    got = run_chunk(scenario, seeds, ("cafs",))
    assert got["p_value"].tolist() == _regular_rows(scenario, seeds, ("cafs",))["p_value"].tolist()

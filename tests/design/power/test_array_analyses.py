"""The adjusted responder analyses from simulate_cohorts' arrays equal the plan's per-trial results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from power_fixtures import protocol, reference_trial

from alstrial.design.power.analyses import run_analysis
from alstrial.design.power.array_analyses import ARRAY_ANALYSES, array_analyses_supported
from alstrial.design.power.replicates import replicate_seeds, run_chunk
from alstrial.design.power.scenarios import Scenario, build_scenario
from alstrial.protocol.models import Protocol

NAMES = ("responder", "responder_nonresponder", "responder_unadjusted")


def _per_trial(scenario: Scenario, seeds: list[np.random.SeedSequence], names: tuple[str, ...]) -> pd.DataFrame:
    """The reference path: simulate_cohort, the analysis datasets and intercurrent events, the
    plan's responder frame. ``attrs["composite"]``: how many composite non-responses it counted."""
    rows, composite = [], 0
    for ss in seeds:
        plan, ds = reference_trial(scenario, ss)
        rows += [run_analysis(name, plan, ds) for name in names]
        endpoint = next(e for e in scenario.protocol.endpoints if e.method == "responder")
        composite += int(np.isneginf(plan.responder_frame(ds, endpoint)[0]["SLOPECHG"]).sum())
    out = pd.DataFrame(rows)
    out.attrs["composite"] = composite
    return out


def _responder_rule(**parameters: object) -> Protocol:
    endpoints = [
        e.model_copy(update={"parameters": {**e.parameters, **parameters}}) if e.method == "responder" else e
        for e in protocol.endpoints
    ]
    return protocol.model_copy(update={"endpoints": endpoints})


@pytest.mark.parametrize(
    ("rule", "root"),
    [
        ({}, 17),
        ({}, 2026),
        ({"pre_slope_method": "two_point", "post_slope_method": "two_point", "missing_post_slope": "nonresponder"}, 5),
        ({"pre_slope_method": "onset_dfs", "threshold_points_per_month": 0.25}, 11),
    ],
)
def test_adjusted_responder_from_arrays_equals_the_per_trial_path(rule: dict[str, object], root: int) -> None:
    """Same engine (responder_analysis) on the same numbers, composite non-responses included:
    only the slopes' sums are formed in another order, so results agree to 1e-12 relative."""
    scenario = build_scenario(_responder_rule(**rule), {"effect": 1.0, "participants": 80, "followup": 20})
    assert array_analyses_supported(scenario.protocol) and set(NAMES) <= set(ARRAY_ANALYSES)
    seeds = replicate_seeds(root, 0, 3)
    got = run_chunk(scenario, seeds, NAMES)
    expected = _per_trial(scenario, seeds, NAMES)
    assert expected.attrs["composite"] > 0  # the estimand's composite non-responses are exercised
    assert got["analysis"].tolist() == expected["analysis"].tolist()
    assert got["error"].tolist() == expected["error"].tolist()
    ok = got["error"] == ""
    assert ok.sum() >= 6
    for col in ("estimate", "std_error", "p_value", "rate_control", "rate_active"):
        np.testing.assert_allclose(got[col], expected[col], rtol=1e-12, err_msg=col)
    # the covariates matter: the adjusted estimates differ from the unadjusted ones
    by = got[ok].set_index(["replicate", "analysis"])["estimate"].unstack()
    assert not np.allclose(by["responder"].dropna(), by["responder_unadjusted"].dropna(), rtol=1e-3)


def test_a_covariate_the_arrays_lack_keeps_the_per_trial_path() -> None:
    scenario = build_scenario(
        _responder_rule(covariates=["baseline_alsfrs_r", "AGE"]), {"participants": 60, "followup": 20}
    )
    assert not array_analyses_supported(scenario.protocol)
    seeds = replicate_seeds(3, 0, 2)
    got = run_chunk(scenario, seeds, ("responder",))
    assert got["p_value"].tolist() == _per_trial(scenario, seeds, ("responder",))["p_value"].tolist()

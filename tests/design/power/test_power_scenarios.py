"""Grid parsing and scenario building: every parameter reachable, every bad value refused by name."""

from __future__ import annotations

import pytest

from alstrial.design.power.scenarios import (
    DESIGN_PARAMS,
    PowerError,
    build_scenario,
    expand_grid,
    parse_grid,
    resolve_name,
    simulation_paths,
)
from alstrial.protocol import load_protocol
from alstrial.protocol.models import Protocol


@pytest.fixture(scope="module")
def protocol() -> Protocol:
    return load_protocol()


def test_grid_is_the_cartesian_product_first_parameter_slowest(protocol: Protocol) -> None:
    grid = parse_grid(["effect=0,0.25,0.5", "participants=150,189", "dropout=mcar,mnar"])
    assert grid == {"effect": [0, 0.25, 0.5], "participants": [150, 189], "dropout": ["mcar", "mnar"]}
    scenarios = expand_grid(protocol, grid)
    assert len(scenarios) == 12
    assert scenarios[0].values == {"effect": 0, "participants": 150, "dropout": "mcar"}
    assert scenarios[-1].values == {"effect": 0.5, "participants": 189, "dropout": "mnar"}
    assert [s.protocol.simulation.dropout.mechanism for s in scenarios[:2]] == ["mcar", "mnar"]
    assert len({s.key for s in scenarios}) == 12


def test_no_grid_is_the_protocol_as_written(protocol: Protocol) -> None:
    (only,) = expand_grid(protocol, {})
    assert only.participants == protocol.sample_size == 189
    assert only.protocol.simulation == protocol.simulation
    assert only.arms == ("PBO", "MSC") and only.control == "PBO"


def test_every_simulation_parameter_can_be_gridded_by_path_or_unique_leaf(protocol: Protocol) -> None:
    paths = simulation_paths()
    assert "dropout.base_per_month" in paths and "biomarkers.nfl.median_pg_ml" in paths
    assert resolve_name("rate_median_per_month") == "progression.rate_median_per_month"
    s = build_scenario(protocol, {"biomarkers.nfl.median_pg_ml": 9000.0, "dropout.base_per_month": 0.03})
    assert s.protocol.simulation.biomarkers.nfl.median_pg_ml == 9000.0
    assert s.protocol.simulation.dropout.base_per_month == 0.03
    # the protocol object the scenario came from is untouched
    assert protocol.simulation.dropout.base_per_month == 0.015


def test_design_parameters_change_what_they_say(protocol: Protocol) -> None:
    s = build_scenario(protocol, {"effect": 0.4, "ratio": "2:1", "runin": "off", "enrich_alsfrs": 35})
    t = s.protocol.simulation.treatment
    assert t.effect_slope_points_per_month == t.effect_slope_high_points_per_month == 0.4
    assert s.arms.count("MSC") == 2 * s.arms.count("PBO")
    assert s.protocol.simulation.eligibility.min_runin_decline_points == 0
    assert s.protocol.simulation.eligibility.min_alsfrs_r_at_screening == 35
    s = build_scenario(protocol, {"enrich_progression": 0.9, "responder_threshold": 1.75})
    assert s.protocol.simulation.population.referral_min_dfs_per_month == 0.9
    responder = next(e for e in s.protocol.endpoints if e.method == "responder")
    assert responder.parameters["threshold_points_per_month"] == 1.75


def test_followup_moves_the_schedule_and_the_primary_visit(protocol: Protocol) -> None:
    s = build_scenario(protocol, {"followup": 52})
    assert s.protocol.simulation.visits.alsfrs_days == tuple(range(0, 365, 28))
    assert s.protocol.simulation.visits.csf_days[-1] == 364
    assert [v.code for v in s.protocol.visits if v.day >= 0][-1] == "W52"
    assert {e.visit for e in s.protocol.endpoints if e.visit} == {"W52"}
    short = build_scenario(protocol, {"followup": 20})
    assert short.protocol.simulation.visits.alsfrs_days[-1] == 140
    assert {e.visit for e in short.protocol.endpoints if e.visit} == {"W20"}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("colour=red", "unknown grid parameter 'colour'"),
        ("median_pg_ml=5", "ambiguous"),
        ("dropout=sometimes", "invalid value 'sometimes' for dropout: expected one of mcar, mar, mnar"),
        ("participants=3", "invalid value 3 for participants"),
        ("participants=12.5", "invalid value 12.5 for participants"),
        ("ratio=5:1", "invalid value '5:1' for ratio"),
        ("ratio=two", "invalid value 'two' for ratio"),
        ("followup=30", "invalid value 30 for followup: expected a multiple of 4"),
        ("followup=8", "invalid value 8 for followup"),
        ("runin=maybe", "expected one of on, off"),
        ("effect=big", "invalid value 'big' for effect"),
        ("responder_threshold=0", "invalid value 0 for responder_threshold"),
        ("dropout.base_per_month=-1", "invalid value for dropout.base_per_month"),
        ("visit_noise_df=1", "invalid value for progression.visit_noise_df"),
        ("effect", "expected PARAM=v1,v2"),
        ("effect=", "expected PARAM=v1,v2"),
    ],
)
def test_bad_names_and_values_are_refused_by_name(protocol: Protocol, spec: str, message: str) -> None:
    with pytest.raises(PowerError, match=None) as info:
        expand_grid(protocol, parse_grid([spec]))
    assert message in str(info.value)


def test_unknown_parameter_error_lists_the_design_parameters() -> None:
    with pytest.raises(PowerError) as info:
        parse_grid(["sample=10"])
    assert all(name in str(info.value) for name in DESIGN_PARAMS)


def test_a_parameter_given_twice_is_refused() -> None:
    with pytest.raises(PowerError, match="given twice"):
        parse_grid(["effect=0", "effect=1"])

"""The analysis plan of a protocol: estimands (ICH E9(R1)), subgroups and their checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from alstrial.cli import app
from alstrial.protocol import ProtocolError, default_protocol_path, load_protocol, parse_protocol


def _seed_text() -> str:
    return default_protocol_path().read_text(encoding="utf-8")


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def test_seed_trial_attaches_an_estimand_to_every_endpoint() -> None:
    p = load_protocol()
    assert {e.endpoint for e in p.estimands} == {e.id for e in p.endpoints}
    chg = p.estimand_for("ALSFRS_CHG")
    assert chg is not None and chg.id == "E_ALSFRS_CHG"
    assert {h.event: h.strategy for h in chg.intercurrent_events}["permanent_assisted_ventilation"] == "hypothetical"
    assert chg.sensitivity == [
        "mi_mar",
        "mi_jump_to_reference",
        "mi_copy_reference",
        "mi_copy_increments_in_reference",
        "tipping_point",
    ]
    assert {s.variable for s in p.subgroups} == {"baseline_alsfrs_r", "onset_region", "sex", "age", "riluzole"}
    assert p.analysis.baseline_thresholds == [26, 28, 30, 32, 34]


def test_unknown_endpoint_strategy_variable_and_misplaced_sensitivity_are_reported() -> None:
    text = _replace(_seed_text(), 'endpoint = "SLOPE"', 'endpoint = "SLOPES"')
    text = _replace(text, 'strategy = "while_on_treatment"', 'strategy = "on_treatment"')
    text = _replace(text, 'variable = "sex"', 'variable = "gender"')
    text = _replace(text, 'summary = "Mean CAFS rank', 'sensitivity = ["mi_mar"]\nsummary = "Mean CAFS rank')
    text = _replace(text, 'variable = "age"\ncutpoint = 45', 'variable = "age"')
    with pytest.raises(ProtocolError) as info:
        parse_protocol(text)
    where = {p.where: (p.value, p.reason) for p in info.value.problems}
    assert where["estimands[3].endpoint"][0] == "SLOPES" and "unknown endpoint" in where["estimands[3].endpoint"][1]
    assert "estimands[5].intercurrent_events[1].strategy" in where
    assert "treatment_policy" in where["estimands[5].intercurrent_events[1].strategy"][1]
    assert "subgroups[2].variable" in where
    assert "mmrm_change" in where["estimands[2].sensitivity"][1]
    assert where["subgroups[3].cutpoint"][1] == "'age' needs a cut point"


def test_an_event_handled_twice_is_reported_by_protocol_check(tmp_path: Path) -> None:
    text = _replace(
        _seed_text(),
        '{ event = "gastrostomy", strategy = "treatment_policy", rationale = "part of usual care" },',
        '{ event = "gastrostomy", strategy = "treatment_policy" },\n'
        '    { event = "gastrostomy", strategy = "hypothetical" },',
    )
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["protocol", "check", str(path)])
    assert result.exit_code == 2
    assert (
        "estimands[1].intercurrent_events[1].event" in result.output and "each event is handled once" in result.output
    )

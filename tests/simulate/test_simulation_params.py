from __future__ import annotations

import pytest
from pydantic import ValidationError

from alstrial.protocol.simulation import SimulationParams


def test_defaults_build_and_are_frozen() -> None:
    p = SimulationParams()
    assert p.visits.alsfrs_days[-1] == 196 and p.visits.dose_days == (0, 56, 112)
    with pytest.raises(ValidationError):
        p.visits.screening_day = -10  # type: ignore[misc]


@pytest.mark.parametrize(
    ("section", "value", "message"),
    [
        ("dropout", {"mechanism": "random"}, "mcar"),
        ("dropout", {"reason_weights": {"boredom": 1.0}}, "unknown key"),
        ("visits", {"alsfrs_days": [0, 56, 28]}, "increasing"),
        ("visits", {"alsfrs_days": [28, 56]}, "baseline day 0"),
        ("visits", {"runin_day": -120}, "runin_day \\(-120\\) must lie between"),
        ("population", {"age_min_years": 70}, "must be below age_max_years"),
        ("eligibility", {"allowed_el_escorial": ["suspected"]}, "unknown El Escorial"),
        ("treatment", {"unknown_field": 1}, "Extra inputs"),
    ],
)
def test_validators_quote_the_bad_value(section: str, value: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SimulationParams.model_validate({section: value})

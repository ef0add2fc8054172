"""Stratum levels from site and screening values."""

from __future__ import annotations

import pytest

from alstrial.domain.strata import stratum_values
from alstrial.errors import ValidationFailed
from alstrial.protocol import load_protocol

PROTOCOL = load_protocol()


@pytest.mark.parametrize(("total", "band"), [(25, "lt35"), (34, "lt35"), (35, "ge35"), (48, "ge35")])
def test_cutpoint_is_lower_inclusive(total: int, band: str) -> None:
    assert stratum_values(PROTOCOL, "S03", {"alsfrs_r_total": total}) == {"site": "S03", "alsfrs_r_band": band}


def test_unknown_site_and_missing_field_are_both_reported() -> None:
    with pytest.raises(ValidationFailed) as info:
        stratum_values(PROTOCOL, "S99", {})
    assert {p.where for p in info.value.problems} == {"stratum site", "stratum alsfrs_r_band"}

"""A participant's randomization stratum from the protocol's factors and screening values."""

from __future__ import annotations

import bisect
from collections.abc import Mapping

from alstrial.errors import Problem, ValidationFailed
from alstrial.protocol.models import Protocol


def stratum_values(protocol: Protocol, site_code: str, screening: Mapping[str, object]) -> dict[str, str]:
    """The level of every stratification factor for one participant, in protocol order."""
    levels: dict[str, str] = {}
    problems: list[Problem] = []
    for factor, factor_levels in protocol.strata_levels():
        spec = next(s for s in protocol.strata if s.name == factor)
        if spec.source == "site":
            if site_code not in factor_levels:
                problems.append(Problem(f"stratum {factor}", site_code, f"site not among the levels {factor_levels}"))
            else:
                levels[factor] = site_code
            continue
        assert spec.field is not None
        value = screening.get(spec.field)
        if value is None:
            problems.append(Problem(f"stratum {factor}", None, f"screening field {spec.field!r} is missing"))
        elif spec.cutpoints:
            assert isinstance(value, int | float)
            levels[factor] = factor_levels[bisect.bisect_right(spec.cutpoints, float(value))]
        elif str(value) in factor_levels:
            levels[factor] = str(value)
        else:
            problems.append(Problem(f"stratum {factor}", value, f"expected one of {factor_levels}"))
    if problems:
        raise ValidationFailed(problems, context="stratification")
    return levels

"""Which of two arm levels is the reference: one rule for every endpoint, on plain values."""

from __future__ import annotations

from collections.abc import Sequence

from alstrial.stats.errors import EndpointDataError


def reference_and_treatment(
    uniq: Sequence[object], name: object, *, what: str, reference: object | None = None
) -> tuple[object, object]:
    """``(reference, treatment)`` from an arm column's distinct values (plain Python, no missing).

    Without ``reference`` the levels are sorted and the first is the reference, so the
    "treatment" is the second level in sort order (placebo/active coding 0/1, "PBO"/"TRT").
    """
    levels = sorted(uniq, key=lambda v: (str(type(v)), v))
    if len(levels) != 2:
        raise EndpointDataError(
            f"{what}: arm column {name!r} must have exactly 2 levels, found {len(levels)}: "
            f"{', '.join(repr(v) for v in levels[:10])}"
        )
    if reference is None:
        return levels[0], levels[1]
    if reference not in levels:
        # CLI values arrive as strings; accept "0" for a numeric 0.
        matches = [v for v in levels if str(v) == str(reference)]
        if not matches:
            raise EndpointDataError(
                f"{what}: reference arm {reference!r} is not a level of {name!r} "
                f"(levels: {', '.join(repr(v) for v in levels)})"
            )
        reference = matches[0]
    other = levels[1] if levels[0] == reference else levels[0]
    return reference, other

"""Natural ordering of level labels, so VIS2 sorts before VIS10 (as a statistician expects)."""

from __future__ import annotations

import re
from collections.abc import Iterable

_CHUNK = re.compile(r"(\d+)")


def natural_key(value: object) -> tuple[tuple[int, object], ...]:
    """Sort key: numbers inside labels compare numerically, text compares as text."""
    if isinstance(value, int | float):
        return ((0, float(value)),)
    parts = _CHUNK.split(str(value))
    return tuple((1, int(p)) if p.isdigit() else (2, p) for p in parts if p != "")


def natural_sorted(values: Iterable[object]) -> list[object]:
    """Return values sorted in natural order."""
    return sorted(values, key=natural_key)

"""Estimand strategies on simulated trials held as arrays (the power study's fast paths).

The analysis plan applies an estimand's strategies to data frames (``analysis.estimands``): values
after a hypothetical or while-on-treatment event are set aside, and for the responder endpoint a
composite event before the primary visit is a non-response. The fast paths of a power study never
build those frames, so this module says the same thing on arrays of event days (trial ×
participant, or participant), from the events the sites would have recorded
(``simulate.intercurrent``). Tests check both routes give the same data.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from alstrial.protocol.models import Protocol
from alstrial.simulate.intercurrent import EVENT_KINDS, recorded, study_day

#: strategies under which values recorded after the event are not analysed
SET_ASIDE = ("hypothetical", "while_on_treatment")


def last_visit_day(protocol: Protocol) -> float:
    return float(max(v.day for v in protocol.visits))


def recorded_days(
    events: Mapping[str, np.ndarray], dropout_day: np.ndarray, last_visit: float
) -> dict[str, np.ndarray]:
    """Intercurrent-event kind -> study day of the recorded event (NaN where none was recorded)."""
    out = {}
    for name, kind in EVENT_KINDS.items():
        if name in events:
            day = np.asarray(events[name], dtype=float)
            out[kind] = np.where(recorded(day, dropout_day, last_visit), study_day(day), np.nan)
    return out


def _first(days: Mapping[str, np.ndarray], kinds: list[str], shape: tuple[int, ...]) -> np.ndarray:
    first = np.full(shape, np.inf)
    for kind in kinds:
        if kind in days:
            first = np.fmin(first, np.where(np.isnan(days[kind]), np.inf, days[kind]))
    return first


def _kinds(protocol: Protocol, endpoint_id: str, strategies: tuple[str, ...]) -> list[str]:
    estimand = protocol.estimand_for(endpoint_id)
    if estimand is None:
        return []
    return [h.event for h in estimand.intercurrent_events if h.strategy in strategies]


def set_aside(
    protocol: Protocol, endpoint_id: str, visit_days: np.ndarray, days: Mapping[str, np.ndarray]
) -> np.ndarray:
    """(..., m) bool: the visits whose values the endpoint's estimand sets aside (after the event)."""
    shape = np.shape(next(iter(days.values()))) if days else ()
    first = _first(days, _kinds(protocol, endpoint_id, SET_ASIDE), shape)
    return np.asarray(np.asarray(visit_days, dtype=float) > first[..., None])


def composite_failures(protocol: Protocol, endpoint_id: str, day: float, days: Mapping[str, np.ndarray]) -> np.ndarray:
    """(...) bool: a composite event of the endpoint's estimand on or before ``day`` (a non-response)."""
    shape = np.shape(next(iter(days.values()))) if days else ()
    return np.asarray(_first(days, _kinds(protocol, endpoint_id, ("composite",)), shape) <= day)

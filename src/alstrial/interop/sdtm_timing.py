"""SDTM timing: ISO 8601 date/times, study days (--DY) and epochs derived from the protocol's visit phases."""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, date, datetime

from alstrial.protocol.models import Protocol

#: protocol visit phase -> SDTM EPOCH (CDISC CT codelist EPOCH)
EPOCHS = {"screening": "SCREENING", "run_in": "RUN-IN", "treatment": "TREATMENT", "follow_up": "FOLLOW-UP"}


def iso(value: date | datetime | None) -> str:
    """ISO 8601 as SDTM writes it: ``YYYY-MM-DD`` or ``YYYY-MM-DDThh:mm:ss`` (times in UTC), '' when unknown."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(timespec="seconds")
    return value.isoformat()


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def study_day(value: date | datetime | None, reference: date | None) -> float:
    """SDTM --DY: days from RFSTDTC, day 1 being the reference day itself (there is no day 0)."""
    if value is None or reference is None:
        return float("nan")
    delta = (_as_date(value) - reference).days
    return float(delta + 1 if delta >= 0 else delta)


class EpochClock:
    """The epoch a dated record falls in: the phase of the last scheduled visit on or before its day."""

    def __init__(self, protocol: Protocol) -> None:
        visits = sorted(protocol.visits, key=lambda v: v.day)
        self._days = [v.day for v in visits]
        self._phases = [EPOCHS[v.phase] for v in visits]
        self.by_visit = {v.code: EPOCHS[v.phase] for v in protocol.visits}

    def at(self, value: date | datetime | None, day0: date | None) -> str:
        """Epoch of a date relative to the participant's day 0 (screening before the schedule starts)."""
        if value is None or day0 is None:
            return "SCREENING" if value is not None else ""
        offset = (_as_date(value) - day0).days
        i = bisect_right(self._days, offset) - 1
        return self._phases[max(i, 0)]

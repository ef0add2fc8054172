"""A participant's visit schedule as pages show it: each protocol visit with its window and state.

Windows are the protocol's (days relative to day 0, the first dose); before randomization the
anchor is the planned day 0 implied by the screening date, as the visit service computes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from alstrial.protocol.models import Protocol

State = Literal["done", "done_out_of_window", "due", "overdue", "upcoming", "not_applicable"]


@dataclass(frozen=True)
class ScheduledVisit:
    code: str
    name: str
    target: date
    earliest: date
    latest: date
    state: State
    assessments: tuple[str, ...]
    record: Mapping[str, object] | None = None


def anchor(protocol: Protocol, *, screened_on: date, day0: date | None) -> date:
    return day0 if day0 is not None else screened_on - timedelta(days=protocol.visits[0].day)


def schedule(
    protocol: Protocol,
    *,
    screened_on: date,
    day0: date | None,
    status: str,
    withdrawn: bool,
    visits: Sequence[Mapping[str, object]],
    today: date,
) -> list[ScheduledVisit]:
    """Every protocol visit with its window and whether it is done, due, overdue or still ahead."""
    start = anchor(protocol, screened_on=screened_on, day0=day0)
    done = {str(v["visit"]): v for v in visits}
    out = []
    for v in protocol.visits:
        target = start + timedelta(days=v.day)
        earliest, latest = target - timedelta(days=v.window_before), target + timedelta(days=v.window_after)
        rec = done.get(v.code)
        pre = v.phase in ("screening", "run_in")
        state: State
        if rec is not None:
            state = "done" if rec.get("in_window", True) else "done_out_of_window"
        elif status == "screen_failed" or withdrawn or (not pre and status != "randomized"):
            state = "not_applicable"
        elif today > latest:
            state = "overdue"
        elif today >= earliest:
            state = "due"
        else:
            state = "upcoming"
        out.append(ScheduledVisit(v.code, v.name, target, earliest, latest, state, tuple(v.assessments), rec))
    return out

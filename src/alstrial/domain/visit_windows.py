"""Visit windows: is a visit on a given study day inside the protocol's window?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from alstrial.protocol.models import Visit


@dataclass(frozen=True)
class WindowCheck:
    """Where an actual visit day falls relative to its scheduled window."""

    visit: str
    target_day: int
    actual_day: int
    earliest_day: int
    latest_day: int

    @property
    def status(self) -> Literal["early", "in_window", "late"]:
        if self.actual_day < self.earliest_day:
            return "early"
        return "late" if self.actual_day > self.latest_day else "in_window"

    @property
    def in_window(self) -> bool:
        return self.status == "in_window"

    @property
    def deviation_days(self) -> int:
        """Days outside the window (0 inside; negative = early)."""
        if self.actual_day < self.earliest_day:
            return self.actual_day - self.earliest_day
        return max(0, self.actual_day - self.latest_day)

    def __str__(self) -> str:
        return (
            f"{self.visit} on day {self.actual_day}: {self.status.replace('_', ' ')} "
            f"(target {self.target_day}, window {self.earliest_day}..{self.latest_day})"
        )


def check_window(visit: Visit, actual_day: int) -> WindowCheck:
    """Check a study day (relative to day 0 = first dose) against a visit's window."""
    return WindowCheck(
        visit.code, visit.day, actual_day, visit.day - visit.window_before, visit.day + visit.window_after
    )


def study_day(day0: date, when: date) -> int:
    """Study day of a date, with day 0 the anchor date (no day-1 convention: windows use offsets)."""
    return (when - day0).days

"""Visit windows against the protocol schedule."""

from __future__ import annotations

from datetime import date

import pytest

from alstrial.domain.visit_windows import check_window, study_day
from alstrial.protocol import load_protocol

W8 = load_protocol().visit("W8")  # day 56, window -7/+7


@pytest.mark.parametrize(
    ("day", "status", "deviation"),
    [
        (56, "in_window", 0),
        (49, "in_window", 0),
        (63, "in_window", 0),
        (48, "early", -1),
        (64, "late", 1),
        (70, "late", 7),
    ],
)
def test_window_edges(day: int, status: str, deviation: int) -> None:
    check = check_window(W8, day)
    assert check.status == status
    assert check.deviation_days == deviation
    assert check.in_window == (status == "in_window")
    assert check.target_day == 56
    assert str(check) == f"W8 on day {day}: {status.replace('_', ' ')} (target 56, window 49..63)"


def test_study_day() -> None:
    assert study_day(date(2026, 1, 1), date(2026, 2, 26)) == 56
    assert study_day(date(2026, 1, 1), date(2025, 12, 31)) == -1

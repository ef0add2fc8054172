"""ΔFS (Kimura 2006) and slopes in points/month (definitions: validation/reference/alsfrs_staging_encals.md)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alstrial.instruments.progression import (
    MONTH_DAYS,
    ProgressionError,
    delta_fs,
    slope_least_squares,
    slope_two_point,
)


def test_month_is_a_twelfth_of_a_julian_year() -> None:
    assert MONTH_DAYS == 365.25 / 12


def test_delta_fs_is_points_lost_per_month_positive_for_decline() -> None:
    assert delta_fs(36, 12) == 1.0
    assert delta_fs(48, 5) == 0.0
    assert delta_fs(40, 16.0) == 0.5


@pytest.mark.parametrize("months", [0, -3, 0.0])
def test_delta_fs_needs_positive_months(months: float) -> None:
    with pytest.raises(ProgressionError, match=r"months_since_onset must be greater than 0 .*not"):
        delta_fs(40, months)


@pytest.mark.parametrize(("total", "months"), [(49, 12), (-1, 12), (float("nan"), 12), (40, float("inf")), ("x", 1)])
def test_delta_fs_rejects_bad_values(total: object, months: object) -> None:
    with pytest.raises(ProgressionError):
        delta_fs(total, months)  # type: ignore[arg-type]


def test_two_point_slope_is_negative_for_decline_in_points_per_month() -> None:
    assert slope_two_point(0, 40, MONTH_DAYS, 39) == pytest.approx(-1.0)
    assert slope_two_point(10, 30, 10 + 3 * MONTH_DAYS, 36) == pytest.approx(2.0)
    assert slope_two_point(100, 30, 0, 33) == pytest.approx(-3 / (100 / MONTH_DAYS))  # order-free


def test_two_point_slope_needs_two_days() -> None:
    with pytest.raises(ProgressionError, match="must differ"):
        slope_two_point(5, 40, 5, 38)


def test_least_squares_slope_matches_polyfit_and_two_point() -> None:
    days = np.array([0, 28, 61, 90, 118, 150])
    totals = np.array([40, 39, 39, 37, 36, 34])
    expected = np.polyfit(days / MONTH_DAYS, totals, 1)[0]
    assert slope_least_squares(days, totals) == pytest.approx(expected, rel=1e-12)
    assert slope_least_squares([0, 61], [40, 38]) == pytest.approx(slope_two_point(0, 40, 61, 38))
    assert slope_least_squares([0, 0, 30.4375], [40, 38, 38]) == pytest.approx(-1.0)


@given(st.lists(st.tuples(st.integers(0, 400), st.integers(0, 48)), min_size=2, max_size=20))
def test_least_squares_slope_is_exact_on_a_line(points: list[tuple[int, int]]) -> None:
    days = np.array(sorted({d for d, _ in points}), dtype=float)
    if days.size < 2:
        return
    totals = 40 - 0.8 * days / MONTH_DAYS
    totals = np.clip(totals, 0, 48)
    if (totals == 0).any():
        return
    assert slope_least_squares(days, totals) == pytest.approx(-0.8, abs=1e-9)


@pytest.mark.parametrize(
    ("days", "totals", "match"),
    [
        ([3], [40], "at least 2 distinct days"),
        ([3, 3, 3], [40, 39, 38], "at least 2 distinct days"),
        ([1, 2], [40], "same length"),
        ([1, np.nan], [40, 39], "finite"),
        ([1, 2], [40, 50], "between 0 and 48"),
    ],
)
def test_least_squares_errors(days: list[float], totals: list[float], match: str) -> None:
    with pytest.raises(ProgressionError, match=match):
        slope_least_squares(days, totals)

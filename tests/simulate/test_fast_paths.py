"""The simulator's shortcuts give the bits of the plain formulas they replace (not just close values)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from alstrial.protocol.simulation import SimulationParams
from alstrial.simulate.events import (
    _after_niv,
    _bound,
    _possible,
    _respiratory_deficit,
    _running_sum,
    exposure_after,
    first_passage,
    grid_start,
)
from alstrial.simulate.latent import DAYS_PER_MONTH, draw_latent
from alstrial.simulate.natural_history import disease_time, latent_items, vital_capacity


def _params(**progression: float) -> SimulationParams:
    d = SimulationParams().model_dump()
    d["progression"].update(progression)
    return SimulationParams.model_validate(d)


def _first_passage_reference(hazard: np.ndarray, edges: np.ndarray, clock: np.ndarray, start: np.ndarray) -> np.ndarray:
    """The formula before the shortcuts: full (n, G) exposure, numpy's cumsum (no NaN starts)."""
    lo = np.maximum(edges[None, :-1], start[:, None])
    months = np.maximum(edges[None, 1:] - lo, 0.0) / DAYS_PER_MONTH
    inc = hazard * months
    cum = np.cumsum(inc, axis=1)
    hit = cum >= clock[:, None]
    j = np.argmax(hit, axis=1)
    r = np.arange(hazard.shape[0])
    day = lo[r, j] + (clock - (cum[r, j] - inc[r, j])) / np.maximum(hazard[r, j], 1e-300) * DAYS_PER_MONTH
    return np.where(hit.any(axis=1), day, np.nan)


@pytest.mark.parametrize("shape", [(500, 131), (7, 1), (3, 0), (1, 40)])
def test_running_sum_is_numpys_cumsum_bit_for_bit(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape) * np.exp(8 * rng.standard_normal(shape))  # signs and magnitudes mixed
    for layout in (x, np.asfortranarray(x)):
        assert np.array_equal(_running_sum(layout), np.cumsum(x, axis=1))


def test_first_passage_from_alive_steps_equals_the_full_exposure_formula() -> None:
    rng = np.random.default_rng(11)
    n, g = 4000, 90
    edges = -300.0 + 7.0 * np.arange(g + 1)
    # starts before the grid, inside steps, exactly on edges and after the grid's end
    start = np.concatenate(
        [rng.uniform(-320.0, 340.0, n - 400), rng.choice(edges, 300), np.full(50, -310.0), np.full(50, 400.0)]
    )
    mid = 0.5 * (edges[:-1] + edges[1:])
    hazard = np.exp(rng.uniform(-7.0, 0.0, (n, g))) * np.linspace(0.1, 1.0, g)
    hazard = np.where(mid[None, :] >= start[:, None], hazard, 0.0)  # as _on_grid masks it
    clock = rng.standard_exponential(n)
    expected = _first_passage_reference(hazard, edges, clock, start)
    assert 500 < np.isfinite(expected).sum() < n - 500  # both hits and misses are compared
    for masked in (True, False):
        got = first_passage(hazard, edges, clock, start, alive_masked=masked)
        assert np.array_equal(got, expected, equal_nan=True), masked
    # NaN starts: no passage, the other rows as before
    start_nan = start.copy()
    start_nan[::7] = np.nan
    got = first_passage(hazard, edges, clock, start_nan, alive_masked=True)
    keep = ~np.isnan(start_nan)
    assert np.isnan(got[~keep]).all()
    assert np.array_equal(got[keep], expected[keep], equal_nan=True)
    # the exposure it no longer builds is what exposure_after still gives the other callers
    lo, months = exposure_after(edges, start)
    assert np.array_equal(lo, np.maximum(edges[None, :-1], start[:, None]))
    assert np.array_equal(months, np.maximum(edges[None, 1:] - lo, 0.0) / DAYS_PER_MONTH)


@pytest.mark.parametrize("fluctuation", [0.0, 0.3])
@pytest.mark.parametrize("curvature", [0.0, -0.05])
def test_days_shared_by_every_row_give_the_per_row_bits(fluctuation: float, curvature: float) -> None:
    params = _params(speed_fluctuation_sd_log=fluctuation, curvature_mean_per_month=curvature)
    batch = draw_latent(params, 600, np.random.default_rng(2))
    days = np.arange(-900.0, 500.0, 3.5)
    per_row = np.tile(days, (batch.n, 1))  # an ordinary (n, m) array: the per-row arithmetic
    slowing = np.where(np.arange(batch.n) % 2 == 0, 0.4, 0.0)
    for s in (None, slowing):
        shared = disease_time(batch, days, s)
        assert np.array_equal(shared, disease_time(batch, per_row, s))
        assert np.isfinite(shared).all()


def test_latent_items_and_vc_equal_the_clip_formulas_also_for_negative_rates() -> None:
    params = SimulationParams()
    batch = draw_latent(params, 400, np.random.default_rng(8))
    tau = disease_time(batch, np.linspace(-100.0, 700.0, 60))
    negative = replace(batch, item_rate=batch.item_rate * np.where(np.arange(batch.n) % 3 == 0, -1.0, 1.0)[:, None])
    for b in (batch, negative):
        block = np.clip(4 - b.item_rate[:, None, :] * np.maximum(tau[:, :, None] - b.item_delay[:, None, :], 0), 0, 4)
        assert np.array_equal(latent_items(b, tau), block)
        for k in (0, 2, 10):
            assert np.array_equal(latent_items(b, tau, k), block[:, :, k])
    assert latent_items(negative, tau).max() == 4.0 and latent_items(batch, tau).min() == 0.0
    vc = np.maximum(batch.vc0[:, None] - batch.vc_rate[:, None] * np.maximum(tau - batch.vc_delay[:, None], 0), 0)
    assert np.array_equal(vital_capacity(batch, tau), vc)


@pytest.mark.parametrize("gastrostomy", [True, False])
def test_per_event_bounds_flag_what_every_bound_on_every_row_flags(gastrostomy: bool) -> None:
    params = _params(rate_median_per_month=0.8)
    batch = draw_latent(params, 3000, np.random.default_rng(4))
    edges = grid_start(batch) + params.events.grid_step_days * np.arange(200.0)
    slowing = np.where(np.arange(batch.n) % 2 == 0, 0.3, 0.0)
    hr = np.where(np.arange(batch.n) % 3 == 0, 1.4, 1.0)
    everything = np.ones((batch.n, 3), dtype=bool)
    # the two passes as before: every event's bound on every row, the crude one then the finer one
    crude = _bound(params, batch, edges, slowing, hr, edges.size - 1, everything)
    rows = np.flatnonzero(crude.any(axis=1))
    expected = crude.copy()
    expected[rows] &= _bound(params, batch.take(rows), edges, slowing[rows], hr[rows], 8, everything[rows])
    expected[:, 0] &= gastrostomy
    got = _possible(params, batch, edges, slowing, hr, gastrostomy=gastrostomy)
    assert np.array_equal(got, expected)
    assert 50 < expected[:, 2].sum() < expected[:, 1].sum() < rows.size < batch.n  # each pass rules some out


@pytest.mark.parametrize("until", [0.0, 365.0])
def test_skipping_the_rows_an_after_niv_bound_rules_out_changes_no_event_day(until: float) -> None:
    # fast progressors, harm and benefit, decelerating and accelerating courses: the respiratory
    # deficit the bound reads grows along the grid in every case
    params = _params(rate_median_per_month=0.8, curvature_sd_per_month=0.05, speed_fluctuation_sd_log=0.3)
    batch = draw_latent(params, 4000, np.random.default_rng(21))
    slowing = np.random.default_rng(22).uniform(-1.0, 1.0, batch.n)
    start = grid_start(batch)
    edges = start + params.events.grid_step_days * np.arange(int((until - start) // 7) + 2)
    mid = 0.5 * (edges[:-1] + edges[1:])
    resp_def = _respiratory_deficit(batch, disease_time(batch, mid, slowing))
    hazard = np.where(mid[None, :] >= batch.onset_day[:, None], 0.01 * np.exp(resp_def), 0.0)
    niv = first_passage(hazard, edges, batch.event_clock[:, 1], batch.onset_day, alive_masked=True)
    assert np.isfinite(niv).sum() > 500
    for base, per_point in ((0.01, 1.0), (0.004, 0.8), (0.2, 0.0)):
        clock = batch.event_clock[:, 2]
        full = _after_niv(base, per_point, resp_def, niv, edges, clock, bounded=False)
        assert np.array_equal(_after_niv(base, per_point, resp_def, niv, edges, clock), full, equal_nan=True)
        assert np.isfinite(full).sum() > 20  # events happen, so a bound too low would be seen

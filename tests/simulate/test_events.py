from __future__ import annotations

import numpy as np
import pytest

from alstrial.protocol.simulation import SimulationParams
from alstrial.simulate.errors import SimulationError
from alstrial.simulate.events import _deficits, _on_grid, event_days, grid_start, referred_grid_start
from alstrial.simulate.latent import EVENT_NAMES, LatentBatch, draw_latent
from alstrial.simulate.natural_history import disease_time, latent_items
from alstrial.simulate.referral import draw_candidates


def _params(**progression: float) -> SimulationParams:
    d = SimulationParams().model_dump()
    d["progression"].update(progression)
    return SimulationParams.model_validate(d)


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    for k in EVENT_NAMES:
        assert np.array_equal(a[k], b[k], equal_nan=True), k


@pytest.mark.parametrize("until", [-200.0, 0.0, 150.0])
@pytest.mark.parametrize("fluctuation", [0.0, 0.3])
def test_a_truncated_grid_gives_the_full_horizons_events_up_to_its_end(until: float, fluctuation: float) -> None:
    params = _params(speed_fluctuation_sd_log=fluctuation, rate_median_per_month=0.8)
    batch = draw_latent(params, 3000, np.random.default_rng(3))
    full = event_days(params, batch)
    cut = event_days(params, batch, until=until)
    for k in EVENT_NAMES:
        expected = np.where(full[k] > until, np.nan, full[k])
        assert np.array_equal(cut[k], expected, equal_nan=True), k
    assert np.isfinite(cut["death"]).sum() > 10  # fast progressors: the comparison covers deaths


def _everyone_on_the_grid(
    params: SimulationParams, batch: LatentBatch, *args: np.ndarray | None
) -> dict[str, np.ndarray]:
    ev = params.events
    start = grid_start(batch)
    n_steps = max(int(np.ceil((ev.horizon_days - start) / ev.grid_step_days)), 1)
    return _on_grid(params, batch, start + ev.grid_step_days * np.arange(n_steps + 1), *args)


@pytest.mark.parametrize("treated", [False, True])
def test_skipping_those_who_cannot_have_an_event_changes_nothing(treated: bool) -> None:
    params = _params(rate_median_per_month=0.8)
    batch = draw_latent(params, 3000, np.random.default_rng(4))
    rng = np.random.default_rng(9)
    args = (rng.uniform(-0.5, 1.0, batch.n), rng.uniform(0.3, 1.5, batch.n)) if treated else (None, None)
    expected = _everyone_on_the_grid(params, batch, *args)
    got = event_days(params, batch, *args)
    _same(got, expected)
    no_event = np.all(np.isnan(np.column_stack(list(got.values()))), axis=1)
    assert 0.1 < no_event.mean() < 0.9  # both kinds are there: the skip is exercised


def test_with_a_falling_hazard_no_one_is_skipped() -> None:
    # validation refuses negative coefficients today; if that ever changes, the bound must not be used
    base = SimulationParams()
    params = base.model_copy(update={"events": base.events.model_copy(update={"death_per_10_total_points": -3.0})})
    batch = draw_latent(params, 500, np.random.default_rng(5))
    _same(event_days(params, batch), _everyone_on_the_grid(params, batch, None, None))


def test_a_sub_batch_on_its_batchs_grid_reproduces_its_rows() -> None:
    params = _params(rate_median_per_month=0.8)
    batch = draw_latent(params, 800, np.random.default_rng(6))
    full = event_days(params, batch)
    rows = np.arange(0, 800, 7)
    sub = event_days(params, batch.take(rows), start=grid_start(batch))
    _same(sub, {k: v[rows] for k, v in full.items()})


def test_deficits_one_item_at_a_time_equal_the_item_block() -> None:
    params = _params(speed_fluctuation_sd_log=0.3)
    batch = draw_latent(params, 200, np.random.default_rng(7))
    tau = disease_time(batch, np.linspace(-900.0, 365.0, 60))
    items = latent_items(batch, tau)
    swallow, resp, total = _deficits(batch, tau)
    np.testing.assert_array_equal(swallow, 4.0 - items[:, :, 2])
    np.testing.assert_array_equal(resp, 4.0 - 0.5 * (items[:, :, 9] + items[:, :, 10]))
    # bit for bit, so event days do not depend on which way the total was added up
    np.testing.assert_array_equal(total, 44.0 - items.sum(axis=2))
    for k in range(items.shape[2]):
        np.testing.assert_array_equal(latent_items(batch, tau, k), items[:, :, k])


def test_without_gastrostomy_the_other_events_are_unchanged() -> None:
    # screening asks for ventilation and death only: those must be the full computation's, and the
    # skipped gastrostomy must not be reported as "none" where there is one (it is NaN everywhere)
    params = _params(rate_median_per_month=0.8)
    batch = draw_latent(params, 3000, np.random.default_rng(8))
    full = event_days(params, batch, until=0.0)
    cut = event_days(params, batch, until=0.0, gastrostomy=False)
    _same({**full, "gastrostomy": cut["gastrostomy"]}, cut)
    assert np.all(np.isnan(cut["gastrostomy"])) and np.isfinite(full["gastrostomy"]).sum() > 100
    assert np.isfinite(cut["niv"]).sum() > 100 and np.isfinite(cut["death"]).sum() > 10  # both are exercised


def test_each_event_is_skipped_only_where_it_cannot_happen() -> None:
    # rows put on the grid for one event (say gastrostomy) but not another (death) still get exactly
    # what everyone-on-the-grid gives them: every row and event compared, with a treatment as well
    params = _params(rate_median_per_month=0.8)
    batch = draw_latent(params, 3000, np.random.default_rng(12))
    rng = np.random.default_rng(13)
    slowing, hr = rng.uniform(-0.5, 1.0, batch.n), rng.uniform(0.3, 1.5, batch.n)
    got = event_days(params, batch, slowing, hr)
    _same(got, _everyone_on_the_grid(params, batch, slowing, hr))
    has = {k: np.isfinite(v) for k, v in got.items()}
    # mixed rows exist: an event without death and death without gastrostomy
    assert (has["gastrostomy"] & ~has["death"]).sum() > 50 and (has["death"] & ~has["gastrostomy"]).sum() > 10


@pytest.mark.parametrize("max_months", [30.0, 60.0])
def test_the_referred_grid_starts_before_every_referred_onset_and_not_much_earlier(max_months: float) -> None:
    # at 30 months the draw's truncation binds, at 60 the referral's 24 months before the last
    # clinic visit (one clinic interval at most before screening) does
    d = SimulationParams().model_dump()
    d["population"]["onset_to_screening_max_months"] = max_months
    params = SimulationParams.model_validate(d)
    start = referred_grid_start(params)
    onset = draw_candidates(params, 20_000, np.random.default_rng(11), staged=True).onset_day
    assert onset.min() >= start
    assert onset.min() - start < 10.0  # 20,000 referred reach within days of the earliest possible onset


def test_the_grids_alignment_moves_event_days_by_less_than_a_step_and_an_effect_would_be_seen() -> None:
    # the cohort path puts every candidate on one grid per parameter set (not one per batch): a
    # discretisation detail. Shifting the grid by half a step moves gastrostomy and NIV days by at
    # most a step (99 %), death days by a few (its hazard jumps at the PAV and tracheostomy days,
    # which move too), and changes whether an event happens by the horizon for well under 1 %;
    # a 20 % lower death hazard, a real difference, changes far more deaths.
    params = SimulationParams()
    batch = draw_candidates(params, 20_000, np.random.default_rng(12), staged=True)
    start, step = referred_grid_start(params), params.events.grid_step_days
    a = event_days(params, batch, start=start)
    b = event_days(params, batch, start=start - step / 2)
    for k in ("gastrostomy", "niv", "death"):
        fa, fb = np.isfinite(a[k]), np.isfinite(b[k])
        assert fa.sum() > 1000, k
        assert (fa != fb).mean() < 0.005, k
        both = fa & fb
        moved = np.abs(a[k][both] - b[k][both])
        assert np.median(moved) < step / 4 and np.percentile(moved, 99) <= (step if k != "death" else 3 * step), k
    treated = event_days(params, batch, None, np.full(batch.n, 0.8), start=start)
    changed = np.isfinite(a["death"]) != np.isfinite(treated["death"])
    assert changed.mean() > 5 * (np.isfinite(a["death"]) != np.isfinite(b["death"])).mean()


def test_a_grid_starting_after_an_onset_is_refused() -> None:
    params = SimulationParams()
    batch = draw_latent(params, 50, np.random.default_rng(13))
    with pytest.raises(SimulationError, match="hazard grid starts on day"):
        event_days(params, batch, start=grid_start(batch) + 1.0)

from __future__ import annotations

import numpy as np
import pytest

from alstrial.protocol.simulation import SimulationParams
from alstrial.simulate.events import event_days, events_until, grid_start
from alstrial.simulate.latent import EVENT_NAMES, draw_latent


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


@pytest.mark.parametrize("until", [0.0, 150.0])
def test_events_until_skips_only_those_without_an_event(until: float) -> None:
    params = _params(rate_median_per_month=0.8)
    batch = draw_latent(params, 3000, np.random.default_rng(4))
    _same(events_until(params, batch, until), event_days(params, batch, until=until))


def test_events_until_with_a_falling_hazard_computes_everyone() -> None:
    # validation refuses negative coefficients today; if that ever changes, the bound must not be used
    base = SimulationParams()
    params = base.model_copy(update={"events": base.events.model_copy(update={"death_per_10_total_points": -0.5})})
    batch = draw_latent(params, 500, np.random.default_rng(5))
    _same(events_until(params, batch, 0.0), event_days(params, batch, until=0.0))


def test_a_sub_batch_on_its_batchs_grid_reproduces_its_rows() -> None:
    params = _params(rate_median_per_month=0.8)
    batch = draw_latent(params, 800, np.random.default_rng(6))
    full = event_days(params, batch)
    rows = np.arange(0, 800, 7)
    sub = event_days(params, batch.take(rows), start=grid_start(batch))
    _same(sub, {k: v[rows] for k, v in full.items()})

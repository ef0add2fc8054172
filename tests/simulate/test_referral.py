from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest
from scipy import stats

from alstrial.protocol.simulation import SimulationParams
from alstrial.simulate.latent import DAYS_PER_MONTH, LatentBatch, draw_latent
from alstrial.simulate.referral import draw_candidates

N = 4000
Sample = tuple[SimulationParams, LatentBatch, LatentBatch]  # params, staged, drawn at once


@pytest.fixture(scope="module")
def both() -> Sample:
    params = SimulationParams()
    staged = draw_candidates(params, N, np.random.default_rng(1), staged=True)
    at_once = draw_candidates(params, N, np.random.default_rng(2))
    return params, staged, at_once


def test_staged_candidates_are_complete(both: Sample) -> None:
    _, staged, at_once = both
    for f in fields(staged):
        a, b = getattr(staged, f.name), getattr(at_once, f.name)
        assert a.shape == b.shape and a.dtype.kind == b.dtype.kind, f.name  # no stage left undrawn
    assert np.all(np.isfinite(staged.diagnosis_day)) and np.all(staged.diagnosis_day > staged.onset_day)


@pytest.mark.parametrize(
    "variable",
    ["age", "female", "pattern", "riluzole", "el_escorial", "onset_day", "diagnosis_day", "rate", "vc0", "vc_rate"],
)
def test_staged_referral_draws_the_same_population(both: tuple, variable: str) -> None:
    # the same distribution whichever order the random numbers come in (different seeds: two samples)
    _, staged, at_once = both
    a = np.asarray(getattr(staged, variable), dtype=float)
    b = np.asarray(getattr(at_once, variable), dtype=float)
    assert stats.ks_2samp(a, b, method="asymp").pvalue > 1e-3


@pytest.mark.parametrize("variable", ["item_rate", "item_delay", "marker_level", "event_clock"])
def test_staged_referral_draws_the_same_per_item_variables(both: tuple, variable: str) -> None:
    _, staged, at_once = both
    a, b = getattr(staged, variable), getattr(at_once, variable)
    for j in range(a.shape[1]):
        assert stats.ks_2samp(a[:, j], b[:, j], method="asymp").pvalue > 1e-3, j


def test_a_dropped_criterion_would_be_seen() -> None:
    # the comparison above has power: the unreferred population (everyone drawn) differs clearly
    params = SimulationParams()
    referred = draw_candidates(params, N, np.random.default_rng(1), staged=True)
    everyone = draw_latent(params, N, np.random.default_rng(3))
    assert stats.ks_2samp(referred.rate, everyone.rate, method="asymp").pvalue < 1e-6


def test_staged_referral_applies_the_criteria_it_can_check_on_the_latent_state(both: Sample) -> None:
    params, staged, _ = both
    el, pop = params.eligibility, params.population
    assert np.all((staged.age >= el.age_min_years) & (staged.age <= el.age_max_years))
    # the last clinic visit is at most one clinic interval before screening
    months_at_screening = (params.visits.screening_day - staged.onset_day) / DAYS_PER_MONTH
    limit = pop.referral_max_months_since_onset + pop.referral_clinic_interval_days / DAYS_PER_MONTH
    assert np.all(months_at_screening <= limit + 1e-9)

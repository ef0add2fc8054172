"""Who gets screened: sites refer clinic patients whose clinic record already meets the criteria.

Screen failures in the seed trial were 25.5 %, mostly SVC at screening or the run-in decline just
missed (CT.gov results record), so screened candidates are not a random ALS population: sites
pre-select on their clinic records. We model that as the trial's own published criteria (age,
ALSFRS-R >= 25, SVC >= 65 %, onset <= 24 months, a 3-point decline) applied to the
two most recent routine clinic visits before screening, rated with the same measurement model as
trial visits. All of this is clinic history *before* the screening visit, outside the
pre-treatment slope window (screening .. first dose), so it selects on each patient's true speed
without inflating the pre-treatment slope.
"""

from __future__ import annotations

import numpy as np

from alstrial.protocol.simulation import SimulationParams
from alstrial.simulate.errors import SimulationError
from alstrial.simulate.latent import (
    DAYS_PER_MONTH,
    LatentBatch,
    draw_course,
    draw_items,
    draw_latent,
    draw_rest,
    months_at_screening,
    premorbid_vc,
    referable_age,
)
from alstrial.simulate.natural_history import disease_time, latent_items, observe_items, vital_capacity
from alstrial.simulate.observation import VisitNoise, item_noise

#: item 12 before any ventilation (patients on NIV are not referred: a published exclusion)
_ITEM12_BEFORE_NIV = 4


def clinic_visit_days(params: SimulationParams, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 2) days of the previous and the last clinic visit before screening.

    Screening falls at a uniformly random time within the routine clinic interval after the last
    clinic visit (a referral is not synchronised with the clinic's calendar).
    """
    interval = params.population.referral_clinic_interval_days
    last = params.visits.screening_day - interval * rng.random(n)
    return np.column_stack([last - interval, last])


def referred_on_course(params: SimulationParams, batch: LatentBatch, svc: np.ndarray, months: np.ndarray) -> np.ndarray:
    """(n,) bool: the criteria the clinic's SVC, age and months since onset decide on their own."""
    pop, el = params.population, params.eligibility
    return (
        (svc >= pop.referral_min_svc_pct)
        & (months <= pop.referral_max_months_since_onset)
        & (batch.age >= el.age_min_years)
        & (batch.age <= el.age_max_years)
    )


def referred_on_ratings(params: SimulationParams, total: np.ndarray, months: np.ndarray) -> np.ndarray:
    """(n,) bool: the criteria on the ALSFRS-R totals (n, 2) of the two clinic visits."""
    pop = params.population
    decline_per_interval = (total[:, 0] - total[:, 1]) * (
        pop.referral_decline_window_days / pop.referral_clinic_interval_days
    )
    return (
        (total[:, 1] >= pop.referral_min_total)
        & (decline_per_interval >= pop.referral_min_recent_decline_points)
        & ((48.0 - total[:, 1]) / np.maximum(months, 0.1) >= pop.referral_min_dfs_per_month)
    )


def referred(params: SimulationParams, batch: LatentBatch, rng: np.random.Generator) -> np.ndarray:
    """(n,) bool: would a site refer this patient to screening? (everything drawn beforehand)"""
    days = clinic_visit_days(params, batch.n, rng)
    noise = VisitNoise.draw(params, batch.n, 2, rng)
    tau = disease_time(batch, days)
    svc = vital_capacity(batch, tau)[:, 1] + noise.svc[:, 1]
    months = (days[:, 1] - batch.onset_day) / DAYS_PER_MONTH
    out = referred_on_course(params, batch, svc, months)
    # the item ratings (the costly part) only for those the other criteria have not ruled out
    rows = np.flatnonzero(out)
    items = observe_items(latent_items(batch.take(rows), tau[rows]), noise.items[rows])
    out[rows] = referred_on_ratings(params, items.sum(axis=2) + _ITEM12_BEFORE_NIV, months[rows])
    return out


def draw_referred(params: SimulationParams, m: int, rng: np.random.Generator) -> LatentBatch:
    """The referred among ``m`` newly drawn patients, drawn by stages (staged rejection).

    Only about one patient in eleven is referred, so what the criteria do not read is never drawn
    for the others. Stage 0 draws what the age and time-since-onset criteria read and a bound of
    the clinic's SVC that needs no disease course: age is drawn already within the eligible range
    (``referable_age``: exact, it depends on nothing else), onset and clinic days decide the
    months since onset, and since VC only falls the SVC is at most premorbid VC plus its
    measurement noise, so whoever fails the SVC criterion on that bound fails it anyway. Then the
    disease course (``draw_course``) and the clinic's SVC, then item speeds, delays and ratings
    only for those still in, and the remaining variables only for the referred. Each referred
    patient's variables have the same distribution as drawn all at once and then referred; only
    the order of the random numbers differs.
    """
    pop, prog = params.population, params.progression
    age = referable_age(params, m, rng)
    onset_day = params.visits.screening_day - months_at_screening(params, m, rng) * DAYS_PER_MONTH
    days = clinic_visit_days(params, m, rng)
    vc0 = premorbid_vc(params, m, rng)
    svc_noise = prog.vc_measurement_sd_pct * rng.standard_normal(m)
    months = (days[:, 1] - onset_day) / DAYS_PER_MONTH
    keep = np.flatnonzero(
        (months <= pop.referral_max_months_since_onset)
        & (np.maximum(vc0, 0.0) + svc_noise >= pop.referral_min_svc_pct)  # VC at the clinic <= max(vc0, 0)
    )
    batch = draw_course(params, age[keep], onset_day[keep], vc0[keep], rng)
    days, months = days[keep], months[keep]
    tau_last = disease_time(batch, days[:, 1:])
    svc = vital_capacity(batch, tau_last)[:, 0] + svc_noise[keep]
    keep = np.flatnonzero(referred_on_course(params, batch, svc, months))
    batch = draw_items(params, batch.take(keep), rng)
    tau = np.hstack([disease_time(batch, days[keep, :1]), tau_last[keep]])  # the earlier visit only for those in
    items = observe_items(latent_items(batch, tau), item_noise(params, batch.n, 2, rng))
    total = items.sum(axis=2) + _ITEM12_BEFORE_NIV
    return draw_rest(params, batch.take(referred_on_ratings(params, total, months[keep])), rng)


def batch_size(need: int, got: int, tried: int, prior_tries_per_success: float, spare: float = 1.2) -> int:
    """How many to draw so that about ``need`` more pass, from the yield so far (``got`` of ``tried``).

    Before anything is known the yield is ``1 / prior_tries_per_success``; the estimate shrinks
    towards the observed yield as draws accumulate, with ``spare`` (20 %) to spare so that one
    more round is rarely needed. Only counts enter, so the draws stay a deterministic function of
    the seed.
    """
    rate = (got + 1.0) / (tried + prior_tries_per_success)
    return int(min(np.ceil(spare * need / rate) + 16, 250_000))


#: about 11 patients drawn per referral with the default parameters (stage 0 included)
_STAGED_TRIES_PER_REFERRAL = 11.0
#: so many patients drawn without a single referral: the criteria exclude (nearly) everyone
_MAX_TRIES_WITHOUT_REFERRAL = 5_000_000


class Referrals:
    """The referred candidates of one generator, in referral order, drawn by ``draw_referred``.

    ``take(n)`` returns the next ``n``. Batches are sized from the yield so far, without the 20 %
    to spare of ``batch_size`` (a short batch costs one more small round; a surplus is drawn in
    vain if no request follows), and what a batch refers beyond the request waits for the next
    request instead of being dropped. Batch sizes
    depend only on counts, and each patient of a batch is drawn independently of the batches
    before, so the referred form one sequence of independent draws from the referred population
    however they are requested: the same distribution as ``draw_candidates``, with less drawn.
    """

    def __init__(self, params: SimulationParams, rng: np.random.Generator) -> None:
        self._params, self._rng = params, rng
        self._waiting: list[LatentBatch] = []
        self._n_waiting = self._got = self._tried = 0

    def take(self, n: int) -> LatentBatch:
        while self._n_waiting < n:
            m = batch_size(n - self._n_waiting, self._got, self._tried, _STAGED_TRIES_PER_REFERRAL, spare=1.0)
            batch = draw_referred(self._params, m, self._rng)
            self._tried += m
            self._got += batch.n
            if self._got == 0 and self._tried >= _MAX_TRIES_WITHOUT_REFERRAL:
                raise SimulationError(
                    f"none of {self._tried} simulated patients would be referred: the referral criteria "
                    "(population.referral_*) exclude nearly everyone the population parameters generate"
                )
            self._waiting.append(batch)
            self._n_waiting += batch.n
        pool = self._waiting[0] if len(self._waiting) == 1 else LatentBatch.concat(self._waiting)
        self._waiting = [pool.take(slice(n, None))]
        self._n_waiting -= n
        return pool.take(slice(0, n))


def draw_candidates(params: SimulationParams, n: int, rng: np.random.Generator, *, staged: bool = False) -> LatentBatch:
    """``n`` referred candidates (latent state), in referral order.

    ``staged`` draws them by ``Referrals`` (the cohort path: several times faster, the same
    distribution, another order of random numbers); otherwise everything is drawn for every
    patient before the criteria are applied (a ``VirtualParticipant``'s order, kept for the demo).
    """
    if staged:
        return Referrals(params, rng).take(n)
    got: list[LatentBatch] = []
    have = tried = 0
    while have < n:
        m = batch_size(n - have, have, tried, 20.0)
        batch = draw_latent(params, m, rng)
        keep = batch.take(referred(params, batch, rng))
        got.append(keep)
        have += keep.n
        tried += m
    return LatentBatch.concat(got).take(slice(0, n))

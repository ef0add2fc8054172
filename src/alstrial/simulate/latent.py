"""The latent state of simulated participants, drawn as a batch of numpy arrays.

Everything random about a participant that does not depend on a visit (demographics, disease
history, progression speed, item thresholds, premorbid VC, biomarker set points, event clocks)
is drawn here once. Observations are deterministic functions of this state plus visit-level
noise, so the fast cohort path and the per-participant path share one model.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np
from scipy.signal import lfilter
from scipy.special import ndtr, ndtri

from alstrial.protocol.simulation import EL_ESCORIAL_CATEGORIES, SimulationParams
from alstrial.simulate.errors import SimulationError

DAYS_PER_MONTH = 365.25 / 12
#: latent item slots: q1..q11 (item 5 is one latent; 5a/5b is only the label); q12 follows events
N_LATENT_ITEMS = 11
BULBAR, UPPER_LIMB, LOWER_LIMB = 0, 1, 2
ONSET_PATTERNS = ("bulbar", "upper_limb", "lower_limb")
EVENT_NAMES = ("gastrostomy", "niv", "pav", "tracheostomy", "death")
MARKERS = ("nfl", "vegf", "mcp1")
_DOMAINS = ("bulbar", "fine_motor", "gross_motor", "respiratory")
_DOMAIN_OF_ITEM = ("bulbar",) * 3 + ("fine_motor",) * 3 + ("gross_motor",) * 3 + ("respiratory",) * 2


@dataclass(frozen=True)
class LatentBatch:
    """Latent state of ``n`` participants; days are relative to the (planned) first dose."""

    age: np.ndarray  # years at screening
    female: np.ndarray  # bool
    pattern: np.ndarray  # 0 bulbar, 1 upper-limb first, 2 lower-limb first
    riluzole: np.ndarray  # bool
    prior_stem_cell: np.ndarray  # bool
    el_escorial: np.ndarray  # index into EL_ESCORIAL_CATEGORIES
    site: np.ndarray  # 1..n_sites
    onset_day: np.ndarray  # negative, days before first dose
    diagnosis_day: np.ndarray
    rate: np.ndarray  # disease-clock speed, rate-months per month
    speed_start_day: np.ndarray  # first day of the speed-multiplier grid
    speed_step_days: np.ndarray  # width of one grid step
    speed_cum: np.ndarray  # (n, K + 1) effective months elapsed from speed_start_day at each grid knot
    curvature: np.ndarray  # per month
    item_rate: np.ndarray  # (n, 11) points per rate-month
    item_delay: np.ndarray  # (n, 11) rate-months after onset
    vc0: np.ndarray  # premorbid VC, % predicted
    vc_rate: np.ndarray  # % predicted lost per rate-month
    vc_delay: np.ndarray  # rate-months before VC starts to fall
    marker_level: np.ndarray  # (n, 3) log pg/mL set points for MARKERS
    event_clock: np.ndarray  # (n, 5) Exp(1) thresholds for EVENT_NAMES

    @property
    def n(self) -> int:
        return int(self.age.shape[0])

    @property
    def onset_region(self) -> np.ndarray:
        """'bulbar' or 'limb' per participant."""
        return np.where(self.pattern == BULBAR, "bulbar", "limb")

    def take(self, index: np.ndarray | slice) -> LatentBatch:
        """The sub-batch of the given participants (boolean mask, indices or slice).

        Masks become indices once, and ``ndarray.take`` copies the rows of each field (the same
        values as fancy indexing, at a fraction of its cost on 21 fields).
        """
        if isinstance(index, slice):
            return LatentBatch(**{name: getattr(self, name)[index] for name in _FIELDS})
        index = np.asarray(index)
        if index.dtype == bool:
            if index.shape != (self.n,):
                raise IndexError(f"boolean index of shape {index.shape} for a batch of {self.n}")
            index = np.flatnonzero(index)
        return LatentBatch(**{name: getattr(self, name).take(index, axis=0) for name in _FIELDS})

    @staticmethod
    def concat(batches: list[LatentBatch]) -> LatentBatch:
        return LatentBatch(
            **{f.name: np.concatenate([getattr(b, f.name) for b in batches]) for f in fields(LatentBatch)}
        )


_FIELDS = tuple(f.name for f in fields(LatentBatch))


def _truncnorm(rng: np.random.Generator, mean: float, sd: float, lo: float, hi: float, n: int) -> np.ndarray:
    a, b = ndtr((lo - mean) / sd), ndtr((hi - mean) / sd)
    return mean + sd * ndtri(a + (b - a) * rng.random(n))


def draw_speed_path(
    params: SimulationParams, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Short-term speed multiplier exp(sd X - sd^2/2) on a fixed day grid, X a stationary AR(1).

    Returns (start day, step, cumulative effective months at the knots). The grid covers every
    day from the earliest possible onset to past the event horizon; outside it the multiplier is 1.
    With no fluctuation (sd 0) the grid is a single step and nothing is drawn.
    """
    prog, pop, visits = params.progression, params.population, params.visits
    step = prog.speed_fluctuation_step_days
    start = np.floor(visits.screening_day - (pop.onset_to_screening_max_months + 0.5) * DAYS_PER_MONTH)
    end = max(params.events.horizon_days, visits.alsfrs_days[-1]) + step
    k = int(np.ceil((end - start) / step))
    sd = prog.speed_fluctuation_sd_log
    if sd <= 0:
        # no fluctuation: the multiplier is 1 everywhere, one grid segment (and no random draws)
        cum = np.zeros((n, 2))
        cum[:, 1] = k * step / DAYS_PER_MONTH
        return np.full(n, start), np.full(n, k * step), cum
    z = rng.standard_normal((n, k))
    phi = float(np.exp(-step / (prog.speed_fluctuation_months * DAYS_PER_MONTH)))
    innov = np.sqrt(1.0 - phi * phi)
    # x[0] = z[0], x[j] = phi x[j-1] + innov z[j]: a first-order recursive filter along each row
    x = lfilter([innov], [1.0, -phi], z, axis=1, zi=((1.0 - innov) * z[:, :1]))[0]
    mult = np.exp(sd * x - 0.5 * sd * sd)
    cum = np.zeros((n, k + 1))
    np.cumsum(mult * (step / DAYS_PER_MONTH), axis=1, out=cum[:, 1:])
    return np.full(n, start), np.full(n, step), cum


def draw_latent(params: SimulationParams, n: int, rng: np.random.Generator) -> LatentBatch:
    """Draw ``n`` screened candidates (before eligibility) from the generating distribution.

    Everything at once, in the order a ``VirtualParticipant`` has always drawn it (so the demo's
    patients stay the same). ``draw_course``, ``draw_items`` and ``draw_rest`` draw the same
    variables by the same formulas in stages, for referral to drop patients between them.
    """
    pop, prog, visits = params.population, params.progression, params.visits
    age = _age(params, n, rng)
    female = rng.random(n) < pop.female_fraction
    pattern = _pattern(params, n, rng)
    riluzole, prior_stem_cell, el_escorial, site = _clinical(params, n, rng)
    months_at_screening = _months_at_screening(params, n, rng)
    onset_day = visits.screening_day - months_at_screening * DAYS_PER_MONTH
    diagnosis_day = _diagnosis_day(params, onset_day, months_at_screening, rng)
    z_rate = rng.standard_normal(n)
    rate = prog.rate_median_per_month * np.exp(prog.rate_sigma_log * z_rate)
    speed_start, speed_step, speed_cum = draw_speed_path(params, n, rng)
    curvature = prog.curvature_mean_per_month + prog.curvature_sd_per_month * rng.standard_normal(n)
    item_rate, item_delay = _item_course(params, pattern, rng)
    vc0, vc_rate = _vital_capacity(params, n, rng)
    marker_level = _marker_levels(params, z_rate, rng)
    event_clock = rng.standard_exponential((n, len(EVENT_NAMES)))
    return LatentBatch(
        age=age,
        female=female,
        pattern=pattern,
        riluzole=riluzole,
        prior_stem_cell=prior_stem_cell,
        el_escorial=el_escorial,
        site=site,
        onset_day=onset_day,
        diagnosis_day=diagnosis_day,
        rate=rate,
        speed_start_day=speed_start,
        speed_step_days=speed_step,
        speed_cum=speed_cum,
        curvature=curvature,
        item_rate=item_rate,
        item_delay=item_delay,
        vc0=vc0,
        vc_rate=vc_rate,
        vc_delay=np.full(n, prog.vc_delay_rate_months),
        marker_level=marker_level,
        event_clock=event_clock,
    )


def draw_course(
    params: SimulationParams, age: np.ndarray, onset_day: np.ndarray, vc0: np.ndarray, rng: np.random.Generator
) -> LatentBatch:
    """Stage 1, for candidates whose age, onset day and premorbid VC are already drawn: the disease
    clock and VC loss.

    Enough for a clinic's SVC and the age and time-since-onset criteria. The fields the later
    stages draw (``draw_items``, ``draw_rest``) are empty (n, 0) arrays until then, so that
    dropping rows between stages costs nothing for them.
    """
    prog = params.progression
    n = int(age.shape[0])
    z_rate = rng.standard_normal(n)
    speed_start, speed_step, speed_cum = draw_speed_path(params, n, rng)
    curvature = prog.curvature_mean_per_month + prog.curvature_sd_per_month * rng.standard_normal(n)
    vc_rate = _vc_rate(params, n, rng)
    undrawn = np.empty((n, 0))
    return LatentBatch(
        age=age,
        female=undrawn,
        pattern=undrawn,
        riluzole=undrawn,
        prior_stem_cell=undrawn,
        el_escorial=undrawn,
        site=undrawn,
        onset_day=onset_day,
        diagnosis_day=undrawn,
        rate=prog.rate_median_per_month * np.exp(prog.rate_sigma_log * z_rate),
        speed_start_day=speed_start,
        speed_step_days=speed_step,
        speed_cum=speed_cum,
        curvature=curvature,
        item_rate=undrawn,
        item_delay=undrawn,
        vc0=vc0,
        vc_rate=vc_rate,
        vc_delay=np.full(n, prog.vc_delay_rate_months),
        marker_level=undrawn,
        event_clock=undrawn,
    )


def draw_items(params: SimulationParams, batch: LatentBatch, rng: np.random.Generator) -> LatentBatch:
    """Stage 2: onset pattern and each item's speed and delay (what item ratings need)."""
    pattern = _pattern(params, batch.n, rng)
    item_rate, item_delay = _item_course(params, pattern, rng)
    return replace(batch, pattern=pattern, item_rate=item_rate, item_delay=item_delay)


def draw_rest(params: SimulationParams, batch: LatentBatch, rng: np.random.Generator) -> LatentBatch:
    """Stage 3: what no referral criterion reads (demographics, diagnosis, biomarkers, event clocks).

    The biomarker set points are correlated with the rate's normal deviate, which the rate gives
    back (it is the rate's log, scaled); with no spread of rates the deviate is independent of
    everything else and is drawn fresh.
    """
    n = batch.n
    prog = params.progression
    female = rng.random(n) < params.population.female_fraction
    riluzole, prior_stem_cell, el_escorial, site = _clinical(params, n, rng)
    months_at_screening = (params.visits.screening_day - batch.onset_day) / DAYS_PER_MONTH
    if prog.rate_sigma_log > 0:
        z_rate = np.log(batch.rate / prog.rate_median_per_month) / prog.rate_sigma_log
    else:
        z_rate = rng.standard_normal(n)
    return replace(
        batch,
        female=female,
        riluzole=riluzole,
        prior_stem_cell=prior_stem_cell,
        el_escorial=el_escorial,
        site=site,
        diagnosis_day=_diagnosis_day(params, batch.onset_day, months_at_screening, rng),
        marker_level=_marker_levels(params, z_rate, rng),
        event_clock=rng.standard_exponential((n, len(EVENT_NAMES))),
    )


def _age(params: SimulationParams, n: int, rng: np.random.Generator) -> np.ndarray:
    pop = params.population
    return _truncnorm(rng, pop.age_mean_years, pop.age_sd_years, pop.age_min_years, pop.age_max_years, n)


def referable_age(params: SimulationParams, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n,) ages of candidates given that their age meets the eligibility's range.

    The population's age is a truncated normal drawn independently of everything else, so given
    the age criterion it is the same normal truncated to the intersection of both ranges: drawing
    it there is exact, and nobody is drawn only to fail on age.
    """
    pop, el = params.population, params.eligibility
    lo, hi = max(pop.age_min_years, el.age_min_years), min(pop.age_max_years, el.age_max_years)
    if not lo < hi:
        raise SimulationError(
            f"no candidate can meet the age criterion: the population's ages [{pop.age_min_years}, "
            f"{pop.age_max_years}] and the eligible ages [{el.age_min_years}, {el.age_max_years}] do not overlap"
        )
    return _truncnorm(rng, pop.age_mean_years, pop.age_sd_years, lo, hi, n)


def months_at_screening(params: SimulationParams, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n,) months from onset to the screening visit."""
    return _months_at_screening(params, n, rng)


def _months_at_screening(params: SimulationParams, n: int, rng: np.random.Generator) -> np.ndarray:
    pop = params.population
    return _truncnorm(
        rng,
        pop.onset_to_screening_mean_months,
        pop.onset_to_screening_sd_months,
        pop.onset_to_screening_min_months,
        pop.onset_to_screening_max_months,
        n,
    )


def _pattern(params: SimulationParams, n: int, rng: np.random.Generator) -> np.ndarray:
    pop = params.population
    limb = rng.random(n) < pop.limb_onset_fraction
    upper = rng.random(n) < pop.upper_limb_first_fraction
    return np.where(limb, np.where(upper, UPPER_LIMB, LOWER_LIMB), BULBAR)


def _clinical(
    params: SimulationParams, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Riluzole, prior stem-cell therapy, El Escorial category and site."""
    pop = params.population
    riluzole = rng.random(n) < pop.riluzole_fraction
    prior_stem_cell = rng.random(n) < pop.prior_stem_cell_fraction
    w = np.array([pop.el_escorial_weights.get(c, 0.0) for c in EL_ESCORIAL_CATEGORIES])
    el_escorial = rng.choice(len(w), size=n, p=w / w.sum())
    site = rng.integers(1, pop.n_sites + 1, size=n)
    return riluzole, prior_stem_cell, el_escorial, site


def _diagnosis_day(
    params: SimulationParams, onset_day: np.ndarray, months_at_screening: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    pop = params.population
    delay = pop.diagnostic_delay_median_months * np.exp(
        pop.diagnostic_delay_sigma_log * rng.standard_normal(onset_day.shape[0])
    )
    delay = np.minimum(delay, months_at_screening - 0.25)
    return onset_day + delay * DAYS_PER_MONTH


def _item_course(
    params: SimulationParams, pattern: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(n, 11) item speeds (points per rate-month) and delays (rate-months after onset)."""
    prog = params.progression
    n = pattern.shape[0]
    domain_rate = {
        "bulbar": prog.bulbar_item_rate_points,
        "fine_motor": prog.fine_motor_item_rate_points,
        "gross_motor": prog.gross_motor_item_rate_points,
        "respiratory": prog.respiratory_item_rate_points,
    }
    base_rate = np.array([domain_rate[d] for d in _DOMAIN_OF_ITEM])
    # in place, the same operations as base_rate * exp(sigma * z)
    item_rate = rng.standard_normal((n, N_LATENT_ITEMS))
    item_rate *= prog.item_rate_sigma_log
    np.exp(item_rate, out=item_rate)
    item_rate *= base_rate
    delays = [prog.delays_bulbar_onset, prog.delays_upper_limb_onset, prog.delays_lower_limb_onset]
    delay_table = np.array([[getattr(d, dom) for dom in _DOMAIN_OF_ITEM] for d in delays])
    # each participant's own spread: a domain's items share a delay and a speed factor, so one
    # region can stay intact for long while another is lost (the onset region keeps delay 0)
    dom = np.array([_DOMAINS.index(d) for d in _DOMAIN_OF_ITEM])
    z_dom = rng.standard_normal((n, 2, len(_DOMAINS)))
    delay_factor = np.exp(prog.domain_delay_sigma_log * z_dom[:, 0, :] - 0.5 * prog.domain_delay_sigma_log**2)
    rate_factor = np.exp(prog.domain_rate_sigma_log * z_dom[:, 1, :] - 0.5 * prog.domain_rate_sigma_log**2)
    item_rate *= rate_factor.take(dom, axis=1)
    item_delay = delay_table.take(pattern, axis=0)
    item_delay *= delay_factor.take(dom, axis=1)
    spread = rng.standard_normal((n, N_LATENT_ITEMS))
    spread *= prog.item_delay_sd_months
    item_delay += spread
    return item_rate, np.maximum(item_delay, 0.0, out=item_delay)


def _vital_capacity(params: SimulationParams, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Premorbid VC (% predicted) and its loss per rate-month."""
    vc0 = premorbid_vc(params, n, rng)
    return vc0, _vc_rate(params, n, rng)


def premorbid_vc(params: SimulationParams, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n,) premorbid VC, % predicted."""
    prog = params.progression
    return prog.vc_premorbid_mean_pct + prog.vc_premorbid_sd_pct * rng.standard_normal(n)


def _vc_rate(params: SimulationParams, n: int, rng: np.random.Generator) -> np.ndarray:
    prog = params.progression
    return prog.vc_decline_per_rate_month_pct * np.exp(prog.vc_decline_sigma_log * rng.standard_normal(n))


def _marker_levels(params: SimulationParams, z_rate: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n, 3) log pg/mL biomarker set points, each correlated with the progression rate."""
    n = z_rate.shape[0]
    marker_level = np.empty((n, len(MARKERS)))
    for j, name in enumerate(MARKERS):
        m = getattr(params.biomarkers, name)
        rho = m.rate_correlation
        z = rho * z_rate + np.sqrt(1.0 - rho**2) * rng.standard_normal(n)
        marker_level[:, j] = np.log(m.median_pg_ml) + m.sigma_log_between * z
    return marker_level

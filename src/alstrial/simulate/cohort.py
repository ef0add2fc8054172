"""The fast path: a whole simulated trial cohort as tidy DataFrames, vectorised, no database.

    cohort = simulate_cohort(SimulationParams(), n=189, seed=1)
    cohort.participants, cohort.visits, cohort.screening

One seed gives identical output. Every random draw is made for every participant whatever its
arm, so arms share common random numbers: with zero effect the active arm's data equal the
placebo data the same participants would have had.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from alstrial.protocol.simulation import EL_ESCORIAL_CATEGORIES, SimulationParams
from alstrial.simulate.biomarkers import biomarker_noise, biomarker_values
from alstrial.simulate.dropout import DropoutDraws, draw_dropout
from alstrial.simulate.errors import SimulationError
from alstrial.simulate.events import event_days, referred_grid_start
from alstrial.simulate.latent import DAYS_PER_MONTH, EVENT_NAMES, MARKERS, LatentBatch
from alstrial.simulate.natural_history import ITEM_COLUMNS, latent_slope_at_baseline
from alstrial.simulate.observation import Observations, VisitNoise, observe
from alstrial.simulate.referral import Referrals, batch_size
from alstrial.simulate.screening import eligibility_flags, eligibility_frame
from alstrial.simulate.treatment import clock_slowing, death_hazard_ratio
from alstrial.stats.responder_slopes import SlopeRule, pre_treatment_slopes

_STREAMS = ("candidates", "screening", "arms", "visits", "biomarkers", "dropout")


def visit_label(day: int, screening_day: int, runin_day: int | None = None) -> str:
    if day == screening_day:
        return "screening"
    if day == runin_day:
        return "run_in"
    if day == 0:
        return "baseline"
    return f"week_{day // 7}" if day % 7 == 0 else f"day_{day}"


def allocate(arms: Sequence[str], n: int, rng: np.random.Generator) -> np.ndarray:
    """Equal allocation in permuted blocks of twice the number of arms."""
    block = np.repeat(np.asarray(arms, dtype=object), 2)
    n_blocks = -(-n // block.size)
    return np.concatenate([rng.permutation(block) for _ in range(n_blocks)])[:n]


@dataclass(frozen=True)
class ScreenedPool:
    """Candidates screened until ``n`` were eligible, and the eligible ones' pre-dose data.

    ``events`` are those screening reads, up to day 0 (see :class:`ScreenedArrays`);
    ``enrolled_events`` gives the whole horizon's.
    """

    table: pd.DataFrame
    eligible: LatentBatch
    events: dict[str, np.ndarray]
    screening: Observations
    runin: Observations
    baseline: Observations


@dataclass(frozen=True)
class ScreenedArrays:
    """Every screened candidate as arrays: the data behind :class:`ScreenedPool`.

    Rows may belong to several trials (``trial``, see ``screen_trials``); within a trial they are
    in its screening order.
    """

    batch: LatentBatch
    # what screening reads, up to day 0: ventilation (item 12) and death; gastrostomy is NaN (no
    # criterion or total reads it), the pre-dose items are labelled 5a until ``relabel_item5``
    events: dict[str, np.ndarray]
    obs: Observations  # at screening, run-in and baseline
    criteria: dict[str, np.ndarray]  # criterion -> met (bool), every screened candidate
    eligible: np.ndarray  # bool, every screened candidate
    trial: np.ndarray  # int, the trial each candidate was screened for
    n: int  # eligible wanted per trial

    @property
    def n_trials(self) -> int:
        return int(self.trial.max()) + 1 if self.trial.size else 0

    def selected(self) -> np.ndarray:
        """Indices of each trial's first ``n`` eligible candidates: trial by trial, in screening order."""
        order = np.argsort(self.trial, kind="stable")
        chosen = order[self.eligible[order]]
        first = np.searchsorted(self.trial[chosen], np.arange(self.n_trials))
        return chosen[(first[:, None] + np.arange(self.n)[None, :]).ravel()]

    @property
    def n_screened(self) -> np.ndarray:
        """(trials,) candidates each trial screened until its ``n``-th eligible one."""
        order = np.argsort(self.trial, kind="stable")
        position = np.empty_like(order)
        position[order] = np.arange(order.size)  # row -> place in trial-major order
        first = np.searchsorted(self.trial[order], np.arange(self.n_trials))
        last = self.selected().reshape(self.n_trials, self.n)[:, -1]
        return position[last] - first + 1


def screen_arrays(
    params: SimulationParams, n: int, rng_candidates: np.random.Generator, rng_screening: np.random.Generator
) -> ScreenedArrays:
    """Draw and screen candidates in batches until ``n`` are eligible (one trial, no data frames)."""
    return screen_trials(params, n, [(rng_candidates, rng_screening)])


def screen_trials(
    params: SimulationParams,
    n: int,
    generators: Sequence[tuple[np.random.Generator, np.random.Generator]],
    *,
    items: bool = True,
) -> ScreenedArrays:
    """Screen candidates for several trials, each with its (candidates, screening) generators,
    in rounds of one batch per trial until each trial has ``n`` eligible.

    Each trial draws from its own generators in the same order as alone (its referrals, then its
    screening noise, round by round; batch sizes from its own counts), while what draws nothing
    (event days, observations, criteria) runs once per round for the candidates of all trials
    stacked: rows do not interact and share one hazard grid (``referred_grid_start``), so every
    trial gets exactly what it would get alone, whatever trials share the call.

    Screening needs only the events up to first dose that a criterion or a total reads (death
    before screening or baseline, and ventilation for item 12 of the pre-dose ratings), so the
    candidates get only those; the enrolled get the whole horizon's from ``enrolled_events``.
    With ``items=False`` the observations hold totals and SVC but no item columns (nothing else
    changes: the items are rated all the same, only not kept as columns).
    """
    if n < 1 or not generators:
        raise SimulationError(f"screening needs n >= 1 and at least one trial (got n={n}, {len(generators)} trials)")
    days = np.array([params.visits.screening_day, params.visits.runin_day, 0.0])
    until = max(float(days.max()), 0.0)
    start = referred_grid_start(params)
    referrals = [Referrals(params, g[0]) for g in generators]
    n_eligible, n_tried = [0] * len(generators), [0] * len(generators)
    rounds: list[tuple[LatentBatch, dict[str, np.ndarray], Observations, dict[str, np.ndarray], np.ndarray]] = []
    for _ in range(1000):
        todo = [t for t in range(len(generators)) if n_eligible[t] < n]
        if not todo:
            break
        batches = []
        for t in todo:
            m = batch_size(n - n_eligible[t], n_eligible[t], n_tried[t], 4.0)
            batches.append(referrals[t].take(m))
            n_tried[t] += m
        batch = batches[0] if len(batches) == 1 else LatentBatch.concat(batches)
        trial = np.repeat(np.asarray(todo), [b.n for b in batches])
        ev = event_days(params, batch, start=start, until=until, gastrostomy=False)
        alive = ~(ev["death"] <= params.visits.screening_day)  # the dead are never screened
        batch, trial = batch.take(alive), trial[alive]
        ev = {k: v[alive] for k, v in ev.items()}
        counts = np.bincount(trial, minlength=len(generators))
        noises = [VisitNoise.draw(params, int(counts[t]), days.size, generators[t][1], days) for t in todo]
        noise = VisitNoise(items=np.concatenate([z.items for z in noises]), svc=np.concatenate([z.svc for z in noises]))
        obs = observe(batch, days, ev, noise, items=items)
        crit = eligibility_flags(params, batch, obs.total[:, 0], obs.svc[:, 0], obs.total[:, 1], ev["death"])
        got = np.bincount(trial[crit["eligible"]], minlength=len(generators))
        for t in todo:
            n_eligible[t] += int(got[t])
        rounds.append((batch, ev, obs, crit, trial))
    else:
        raise SimulationError(
            f"could not find {n} eligible candidates after screening 1000 batches; "
            "the eligibility criteria exclude nearly everyone the population parameters generate"
        )
    one = len(rounds) == 1
    return ScreenedArrays(
        batch=rounds[0][0] if one else LatentBatch.concat([r[0] for r in rounds]),
        events={k: np.concatenate([r[1][k] for r in rounds]) for k in EVENT_NAMES},
        obs=rounds[0][2] if one else _concat_obs([r[2] for r in rounds]),
        criteria={k: np.concatenate([r[3][k] for r in rounds]) for k in rounds[0][3]},
        eligible=np.concatenate([r[3]["eligible"] for r in rounds]),
        trial=np.concatenate([r[4] for r in rounds]),
        n=n,
    )


def screen_until(
    params: SimulationParams, n: int, rng_candidates: np.random.Generator, rng_screening: np.random.Generator
) -> ScreenedPool:
    """Draw and screen candidates in batches until ``n`` are eligible (order is screening order)."""
    screened = screen_arrays(params, n, rng_candidates, rng_screening)
    batch, obs_all, last = screened.batch, screened.obs, int(screened.n_screened[0]) - 1
    table = eligibility_frame({k: v[: last + 1] for k, v in screened.criteria.items()})
    sel = screened.selected()
    table.insert(0, "candidate", [f"C{i + 1:05d}" for i in range(len(table))])
    table["screening_total"] = obs_all.total[: last + 1, 0]
    table["screening_svc"] = obs_all.svc[: last + 1, 0]
    table["runin_total"] = obs_all.total[: last + 1, 1]
    table["runin_decline"] = table["screening_total"] - table["runin_total"]
    table["age"] = batch.age[: last + 1]
    table["sex"] = np.where(batch.female[: last + 1], "F", "M")
    table["months_since_onset"] = (params.visits.screening_day - batch.onset_day[: last + 1]) / DAYS_PER_MONTH
    return ScreenedPool(
        table=table,
        eligible=batch.take(sel),
        events={k: v[sel] for k, v in screened.events.items()},
        screening=_take_obs(obs_all, sel, 0),
        runin=_take_obs(obs_all, sel, 1),
        baseline=_take_obs(obs_all, sel, 2),
    )


def relabel_item5(obs: Observations, gastrostomy_day: np.ndarray) -> Observations:
    """``obs`` with item 5 scored as 5b (not 5a) from the gastrostomy on, as ``observe`` labels it.

    Screening observes the candidates without their gastrostomy day (it changes no total); once
    the enrolled have theirs, their pre-dose ratings get the label they would have had.
    """
    g = obs.days >= gastrostomy_day[:, None]
    if not g.any():
        return obs
    q5 = np.where(np.isnan(obs.items["q5a"]), obs.items["q5b"], obs.items["q5a"])
    items = {**obs.items, "q5a": np.where(g, np.nan, q5), "q5b": np.where(g, q5, np.nan)}
    return Observations(days=obs.days, items=items, total=obs.total, svc=obs.svc, latent_total=obs.latent_total)


def _concat_obs(parts: list[Observations]) -> Observations:
    return Observations(
        days=np.concatenate([p.days for p in parts]),
        items={k: np.concatenate([p.items[k] for p in parts]) for k in parts[0].items},
        total=np.concatenate([p.total for p in parts]),
        svc=np.concatenate([p.svc for p in parts]),
        latent_total=np.concatenate([p.latent_total for p in parts]),
    )


def _take_obs(obs: Observations, rows: np.ndarray, col: int) -> Observations:
    s = (rows, slice(col, col + 1))
    return Observations(
        days=obs.days[s],
        items={k: v[s] for k, v in obs.items.items()},
        total=obs.total[s],
        svc=obs.svc[s],
        latent_total=obs.latent_total[s],
    )


def _hstack(a: Observations, b: Observations) -> Observations:
    return Observations(
        days=np.hstack([a.days, b.days]),
        items={k: np.hstack([a.items[k], b.items[k]]) for k in a.items},
        total=np.hstack([a.total, b.total]),
        svc=np.hstack([a.svc, b.svc]),
        latent_total=np.hstack([a.latent_total, b.latent_total]),
    )


@dataclass(frozen=True)
class Cohort:
    """A simulated trial: ``participants`` (one row each), ``visits`` (long), ``screening``."""

    participants: pd.DataFrame
    visits: pd.DataFrame
    screening: pd.DataFrame
    params: SimulationParams
    seed: int | None

    @property
    def n_screened(self) -> int:
        return len(self.screening)

    @property
    def screen_failure_fraction(self) -> float:
        return 1.0 - len(self.participants) / max(self.n_screened, 1)

    def to_dict(self) -> dict[str, Any]:
        p = self.participants
        return {
            "n_randomized": len(p),
            "n_screened": self.n_screened,
            "screen_failure_fraction": self.screen_failure_fraction,
            "arms": p["arm"].value_counts().to_dict(),
            "n_dropout": int(p["dropout_day"].notna().sum()),
            "n_deaths_on_study": int((p["dropout_reason"] == "death").sum()),
            "baseline_total_mean": float(p["baseline_total"].mean()),
            "seed": self.seed,
        }

    def __str__(self) -> str:
        d = self.to_dict()
        arms = ", ".join(f"{k}: {v}" for k, v in d["arms"].items())
        return (
            f"Simulated cohort (seed {d['seed']}): {d['n_randomized']} randomized of {d['n_screened']} "
            f"screened ({100 * d['screen_failure_fraction']:.1f}% screen failures); arms {arms}; "
            f"{d['n_dropout']} left before the last visit ({d['n_deaths_on_study']} deaths); "
            f"mean baseline ALSFRS-R {d['baseline_total_mean']:.1f}"
        )


def _streams(seed: int | None, rng: np.random.Generator | None) -> list[np.random.Generator]:
    if rng is not None and seed is not None:
        raise SimulationError("give either seed or rng, not both")
    root = np.random.SeedSequence(int(rng.integers(2**63)) if rng is not None else seed)
    return [np.random.default_rng(s) for s in root.spawn(len(_STREAMS))]


def simulate_cohort(
    params: SimulationParams | None = None,
    n: int = 189,
    *,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
    arms: Sequence[str] = ("placebo", "active"),
    control_arm: str = "placebo",
    visit_days: Sequence[int] | None = None,
) -> Cohort:
    """Screen candidates until ``n`` are eligible, randomize them to ``arms`` and follow them up.

    Arms other than ``control_arm`` receive ``params.treatment``. ``visit_days`` overrides the
    ALSFRS-R schedule (days after first dose, starting at 0).
    """
    params = prepare_params(params, n, arms, visit_days)
    rng_c, rng_s, rng_a, rng_v, rng_b, rng_d = _streams(seed, rng)
    pool = screen_until(params, n, rng_c, rng_s)
    batch = pool.eligible
    baseline_total = pool.baseline.total[:, 0].astype(float)
    arm, active, slowing, hr = randomize(params, batch, baseline_total, arms, control_arm, rng_a)
    events = enrolled_events(params, batch, slowing, hr)
    gastrostomy = events["gastrostomy"]
    at_screening, runin, baseline = (relabel_item5(o, gastrostomy) for o in (pool.screening, pool.runin, pool.baseline))
    vdays = np.asarray(params.visits.alsfrs_days, dtype=float)
    noise = VisitNoise.draw(params, n, vdays.size - 1, rng_v)
    csf = np.asarray(params.visits.csf_days, dtype=float)
    bio = biomarker_values(params, batch, csf, active, biomarker_noise(params, (n, csf.size), rng_b))
    draws = DropoutDraws.draw(n, vdays.size, rng_d)
    obs, drop_day, drop_reason = follow_up(params, batch, events, slowing, baseline, noise, draws)

    ids = np.asarray([f"P{i + 1:04d}" for i in range(n)], dtype=object)
    participants = _participants_frame(params, batch, ids, arm, pool, obs, events, drop_day, drop_reason)
    visits = _visits_frame(params, ids, _hstack(at_screening, runin), obs, csf, bio, drop_day)
    screening = pool.table
    screening["participant"] = pd.Series(ids, index=screening.index[screening["eligible"].to_numpy()])
    return Cohort(participants=participants, visits=visits, screening=screening, params=params, seed=seed)


def prepare_params(
    params: SimulationParams | None, n: int, arms: Sequence[str], visit_days: Sequence[int] | None
) -> SimulationParams:
    """Check the cohort's size and arms; apply a visit schedule override."""
    params = params or SimulationParams()
    if n < 1:
        raise SimulationError(f"invalid value for n, expected a positive number of participants (not {n!r})")
    if not arms:
        raise SimulationError("arms must name at least one arm (got an empty sequence)")
    if visit_days is not None:
        schedule = params.visits.model_validate({**params.visits.model_dump(), "alsfrs_days": tuple(visit_days)})
        params = params.model_copy(update={"visits": schedule})
    return params


def randomize(
    params: SimulationParams,
    batch: LatentBatch,
    baseline_total: np.ndarray,
    arms: Sequence[str],
    control_arm: str,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Allocate the eligible participants: arm, active, clock slowing and death hazard ratio."""
    arm = allocate(arms, batch.n, rng)
    active = arm != control_arm
    return arm, active, clock_slowing(params, batch, baseline_total, active), death_hazard_ratio(params, active)


def enrolled_events(
    params: SimulationParams, batch: LatentBatch, slowing: np.ndarray, hazard_ratio: np.ndarray
) -> dict[str, np.ndarray]:
    """Event days over the whole horizon, each participant with its own arm's effect, on the grid
    screening used (``referred_grid_start``).

    Rows do not interact, so the enrolled of many trials can be computed in one call and each gets
    what it would get alone.
    """
    return event_days(params, batch, slowing, hazard_ratio, start=referred_grid_start(params))


def follow_up(
    params: SimulationParams,
    batch: LatentBatch,
    events: dict[str, np.ndarray],
    slowing: np.ndarray,
    baseline: Observations,
    noise: VisitNoise,
    draws: DropoutDraws,
    *,
    items: bool = True,
) -> tuple[Observations, np.ndarray, np.ndarray]:
    """Scheduled ALSFRS-R visits (baseline first) and dropout: row by row, so participants of many
    trials can be followed up in one call (their draws stacked in the same order). ``items=False``
    keeps no item columns (``baseline`` must then have none either)."""
    vdays = np.asarray(params.visits.alsfrs_days, dtype=float)
    obs = _hstack(baseline, observe(batch, vdays[1:], events, noise, slowing, items=items))
    drop_day, drop_reason = draw_dropout(params, batch, vdays, obs.total, obs.latent_total, events["death"], draws)
    return obs, drop_day, drop_reason


def _participants_frame(
    params: SimulationParams,
    batch: LatentBatch,
    ids: np.ndarray,
    arm: np.ndarray,
    pool: ScreenedPool,
    obs: Observations,
    events: dict[str, np.ndarray],
    drop_day: np.ndarray,
    drop_reason: np.ndarray,
) -> pd.DataFrame:
    screening_total = pool.screening.total[:, 0].astype(int)
    runin_total = pool.runin.total[:, 0].astype(int)
    baseline_total = obs.total[:, 0].astype(int)
    df = pd.DataFrame(
        {
            "id": ids,
            "arm": arm,
            "site": batch.site,
            "age": batch.age,
            "sex": np.where(batch.female, "F", "M"),
            "onset_region": batch.onset_region,
            "el_escorial": np.asarray(EL_ESCORIAL_CATEGORIES)[batch.el_escorial],
            "riluzole": batch.riluzole,
            "months_since_onset": -batch.onset_day / DAYS_PER_MONTH,
            "months_since_diagnosis": -batch.diagnosis_day / DAYS_PER_MONTH,
            "screening_total": screening_total,
            "runin_total": runin_total,
            "baseline_total": baseline_total,
            "pre_slope": _pre_slopes(params, ids, screening_total, runin_total, baseline_total, batch),
            "baseline_svc": obs.svc[:, 0],
            "dropout_day": drop_day,
            "dropout_reason": drop_reason,
        }
    )
    for name in EVENT_NAMES:
        df[f"{name}_day"] = events[name]
    df["latent_rate"] = batch.rate
    # placebo latent decline (points/month, positive = worsening) over the scheduled follow-up
    df["latent_decline"] = latent_slope_at_baseline(batch, float(max(params.visits.alsfrs_days[-1], 28)))
    return df


def _pre_slopes(
    params: SimulationParams,
    ids: np.ndarray,
    screening_total: np.ndarray,
    runin_total: np.ndarray,
    baseline_total: np.ndarray,
    batch: LatentBatch,
    rule: SlopeRule | None = None,
) -> np.ndarray:
    """Pre-treatment slope by the shared definition (default rule: least squares over SCR, RUNIN, W0)."""
    v = params.visits
    days = np.array([v.screening_day, v.runin_day, 0], dtype=float)
    long = pd.DataFrame(
        {
            "id": np.repeat(ids, 3),
            "day": np.tile(days, ids.size),
            "total": np.column_stack([screening_total, runin_total, baseline_total]).ravel().astype(float),
        }
    )
    months = pd.Series(-batch.onset_day / DAYS_PER_MONTH, index=ids)
    slopes = pre_treatment_slopes(
        long, rule or SlopeRule(), subject="id", day="day", score="total", months_since_onset=months
    )
    return slopes.reindex(ids).to_numpy(dtype=float)


def _visits_frame(
    params: SimulationParams,
    ids: np.ndarray,
    pre: Observations,
    obs: Observations,
    csf: np.ndarray,
    bio: dict[str, tuple[np.ndarray, np.ndarray]],
    drop_day: np.ndarray,
) -> pd.DataFrame:
    full = _hstack(pre, obs)
    n, m = full.total.shape
    cols: dict[str, Any] = {"id": np.repeat(ids, m), "day": full.days.ravel().astype(int)}
    for k in ITEM_COLUMNS:
        cols[k] = full.items[k].ravel()
    cols["total"] = full.total.ravel().astype(int)
    cols["svc"] = full.svc.ravel()
    frame = pd.DataFrame(cols)
    bcols: dict[str, Any] = {"id": np.repeat(ids, csf.size), "day": np.tile(csf.astype(int), n)}
    for name in MARKERS:
        value, blq = bio[name]
        bcols[name] = value.ravel()
        bcols[f"{name}_blq"] = blq.ravel()
    frame = frame.merge(pd.DataFrame(bcols), on=["id", "day"], how="outer", sort=False)
    dd = pd.Series(drop_day, index=ids).reindex(frame["id"]).to_numpy()
    attended = ~(frame["day"].to_numpy() >= dd)  # NaN dropout day: all attended
    frame = frame.loc[attended].sort_values(["id", "day"], kind="stable").reset_index(drop=True)
    frame.insert(
        2, "visit", [visit_label(int(d), params.visits.screening_day, params.visits.runin_day) for d in frame["day"]]
    )
    return frame

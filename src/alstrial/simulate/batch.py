"""Many simulated trials at once, as arrays (trial × participant × visit): for power analyses.

    trials = simulate_cohorts(params, n=189, seeds=[11, 12, 13])
    trials.change()  # (3, 189, 7) ALSFRS-R change from baseline, NaN after dropout

Trial ``r`` is exactly what ``simulate_cohort(params, n, seed=seeds[r], ...)`` returns (the same
participants, visits, dropout and events), whatever the other trials in the call: each trial
draws from its own generators, in the same order, through the same functions. Only the draws
are made trial by trial: screening runs in rounds of one batch per trial (how many candidates a
trial screens depends on its own draws), and what draws nothing — event days on the one hazard
grid of the parameter set, screening observations and criteria, the follow-up's visits and
dropout — runs once for all trials' rows stacked together (rows do not interact). No data frame
is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from alstrial.protocol.simulation import SimulationParams
from alstrial.simulate.cohort import (
    _streams,
    _take_obs,
    allocate,
    enrolled_events,
    follow_up,
    prepare_params,
    screen_trials,
)
from alstrial.simulate.dropout import DropoutDraws
from alstrial.simulate.latent import DAYS_PER_MONTH
from alstrial.simulate.observation import VisitNoise
from alstrial.simulate.treatment import clock_slowing, death_hazard_ratio


@dataclass(frozen=True)
class CohortArrays:
    """R simulated trials of n participants each; participant order is ``simulate_cohort``'s."""

    visit_days: np.ndarray  # (m,) scheduled ALSFRS-R days after first dose, [0] = baseline
    total: np.ndarray  # (R, n, m) ALSFRS-R total at each scheduled visit (recorded only if attended)
    arm: np.ndarray  # (R, n) arm code
    active: np.ndarray  # (R, n) bool: not the control arm
    screening_total: np.ndarray  # (R, n)
    runin_total: np.ndarray  # (R, n)
    age: np.ndarray  # (R, n)
    female: np.ndarray  # (R, n) bool
    months_since_onset: np.ndarray  # (R, n) at first dose
    onset_region: np.ndarray  # (R, n) 'bulbar' or 'limb'
    riluzole: np.ndarray  # (R, n) bool: on riluzole at baseline
    dropout_day: np.ndarray  # (R, n) NaN = completed follow-up
    dropout_reason: np.ndarray  # (R, n) '' when completed
    events: dict[str, np.ndarray]  # name -> (R, n) event day or NaN
    n_screened: np.ndarray  # (R,)

    @property
    def n_trials(self) -> int:
        return int(self.total.shape[0])

    @property
    def baseline_total(self) -> np.ndarray:
        return self.total[:, :, 0]

    @property
    def attended(self) -> np.ndarray:
        """(R, n, m) bool: the participant came to the visit (before leaving the study)."""
        return ~(self.visit_days[None, None, :] >= self.dropout_day[:, :, None])

    def change(self) -> np.ndarray:
        """(R, n, m - 1) change from baseline at the post-baseline visits, NaN where not attended."""
        chg = (self.total[:, :, 1:] - self.total[:, :, :1]).astype(float)
        return np.where(self.attended[:, :, 1:], chg, np.nan)

    def __str__(self) -> str:
        return (
            f"{self.n_trials} simulated trials of {self.total.shape[1]} participants, "
            f"{self.total.shape[2]} scheduled ALSFRS-R visits; mean screened {np.mean(self.n_screened):.0f}, "
            f"mean dropout {np.mean(~np.isnan(self.dropout_day)):.1%}"
        )


def simulate_cohorts(
    params: SimulationParams | None,
    n: int,
    seeds: Sequence[int | None],
    *,
    arms: Sequence[str] = ("placebo", "active"),
    control_arm: str = "placebo",
    visit_days: Sequence[int] | None = None,
) -> CohortArrays:
    """Simulate one trial per seed; trial ``r`` equals ``simulate_cohort(params, n, seed=seeds[r], ...)``."""
    params = prepare_params(params, n, arms, visit_days)
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    vdays = np.asarray(params.visits.alsfrs_days, dtype=float)
    streams = [_streams(seed, None) for seed in seeds]
    # no item columns: the arrays keep totals only
    screened = screen_trials(params, n, [(g[0], g[1]) for g in streams], items=False)
    sel = screened.selected()  # trial by trial
    batch = screened.batch.take(sel)
    pre = _take_obs(screened.obs, sel, 0), _take_obs(screened.obs, sel, 1), _take_obs(screened.obs, sel, 2)
    baseline_total = pre[2].total[:, 0].astype(float)
    arm = np.concatenate([allocate(arms, n, g[2]) for g in streams])
    active = arm != control_arm
    slowing = clock_slowing(params, batch, baseline_total, active)
    hr = death_hazard_ratio(params, active)
    noises = [VisitNoise.draw(params, n, vdays.size - 1, g[3]) for g in streams]
    all_draws = [DropoutDraws.draw(n, vdays.size, g[5]) for g in streams]
    events = enrolled_events(params, batch, slowing, hr)
    noise = VisitNoise(items=np.concatenate([z.items for z in noises]), svc=np.concatenate([z.svc for z in noises]))
    draws = DropoutDraws(
        interval=np.concatenate([d.interval for d in all_draws]),
        within=np.concatenate([d.within for d in all_draws]),
        reason=np.concatenate([d.reason for d in all_draws]),
    )
    obs, drop_day, drop_reason = follow_up(params, batch, events, slowing, pre[2], noise, draws, items=False)
    r = len(streams)

    def stack(values: np.ndarray) -> np.ndarray:
        return values.reshape(r, n, *values.shape[1:])

    return CohortArrays(
        visit_days=vdays,
        total=stack(obs.total.astype(int)),
        arm=stack(arm),
        active=stack(active),
        screening_total=stack(pre[0].total[:, 0].astype(int)),
        runin_total=stack(pre[1].total[:, 0].astype(int)),
        age=stack(batch.age),
        female=stack(batch.female),
        months_since_onset=stack(-batch.onset_day / DAYS_PER_MONTH),
        onset_region=stack(batch.onset_region),
        riluzole=stack(batch.riluzole),
        dropout_day=stack(drop_day),
        dropout_reason=stack(drop_reason),
        events={k: stack(v) for k, v in events.items()},
        n_screened=screened.n_screened,
    )

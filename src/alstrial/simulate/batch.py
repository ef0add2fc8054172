"""Many simulated trials at once, as arrays (trial × participant × visit): for power analyses.

    trials = simulate_cohorts(params, n=189, seeds=[11, 12, 13])
    trials.change()  # (3, 189, 7) ALSFRS-R change from baseline, NaN after dropout

Trial ``r`` is exactly what ``simulate_cohort(params, n, seed=seeds[r], ...)`` returns (the same
participants, visits, dropout and events), whatever the other trials in the call: each trial
draws from its own generators, in the same order, through the same functions. Screening stays
trial by trial (how many candidates a trial screens depends on its own draws), while the
enrolled's event days and the follow-up — visits, dropout — run once for all trials'
participants stacked together (rows do not interact), and no data frame is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from alstrial.protocol.simulation import SimulationParams
from alstrial.simulate.cohort import (
    _concat_obs,
    _streams,
    _take_obs,
    enrolled_events,
    follow_up,
    prepare_params,
    randomize,
    screen_arrays,
)
from alstrial.simulate.dropout import DropoutDraws
from alstrial.simulate.latent import DAYS_PER_MONTH, LatentBatch
from alstrial.simulate.observation import VisitNoise


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
    vdays = np.asarray(params.visits.alsfrs_days, dtype=float)
    parts = []
    for seed in seeds:
        rng_c, rng_s, rng_a, rng_v, _rng_b, rng_d = _streams(seed, None)
        screened = screen_arrays(params, n, rng_c, rng_s)
        sel = screened.selected()
        batch = screened.batch.take(sel)
        pre = _take_obs(screened.obs, sel, 0), _take_obs(screened.obs, sel, 1), _take_obs(screened.obs, sel, 2)
        baseline_total = pre[2].total[:, 0].astype(float)
        arm, active, slowing, hr = randomize(params, batch, baseline_total, arms, control_arm, rng_a)
        noise = VisitNoise.draw(params, n, vdays.size - 1, rng_v)
        draws = DropoutDraws.draw(n, vdays.size, rng_d)
        start = screened.grid_start[sel]
        parts.append((batch, pre, arm, active, slowing, hr, noise, draws, screened.n_screened, start))
    if not parts:
        raise ValueError("seeds must hold at least one seed")
    batch = LatentBatch.concat([p[0] for p in parts])
    slowing = np.concatenate([p[4] for p in parts])
    hr = np.concatenate([p[5] for p in parts])
    events = enrolled_events(params, batch, np.concatenate([p[9] for p in parts]), slowing, hr)
    noise = VisitNoise(items=np.concatenate([p[6].items for p in parts]), svc=np.concatenate([p[6].svc for p in parts]))
    draws = DropoutDraws(
        interval=np.concatenate([p[7].interval for p in parts]),
        within=np.concatenate([p[7].within for p in parts]),
        reason=np.concatenate([p[7].reason for p in parts]),
    )
    baseline = _concat_obs([p[1][2] for p in parts])
    obs, drop_day, drop_reason = follow_up(params, batch, events, slowing, baseline, noise, draws)
    r = len(parts)

    def stack(values: np.ndarray) -> np.ndarray:
        return values.reshape(r, n, *values.shape[1:])

    return CohortArrays(
        visit_days=vdays,
        total=stack(obs.total.astype(int)),
        arm=np.stack([p[2] for p in parts]),
        active=np.stack([p[3] for p in parts]),
        screening_total=np.stack([p[1][0].total[:, 0].astype(int) for p in parts]),
        runin_total=np.stack([p[1][1].total[:, 0].astype(int) for p in parts]),
        age=stack(batch.age),
        female=stack(batch.female),
        months_since_onset=stack(-batch.onset_day / DAYS_PER_MONTH),
        onset_region=stack(batch.onset_region),
        riluzole=stack(batch.riluzole),
        dropout_day=stack(drop_day),
        dropout_reason=stack(drop_reason),
        events={k: stack(v) for k, v in events.items()},
        n_screened=np.array([p[8] for p in parts]),
    )

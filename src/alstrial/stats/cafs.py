"""CAFS (Combined Assessment of Function and Survival) and the Finkelstein–Schoenfeld test.

Berry et al. 2013 (ALS FTD 14:162) rank patients on death first and ALSFRS-R change second;
Finkelstein & Schoenfeld 1999 (Stat Med 18:1341) give the test. Every patient is compared
with every other (pooled over arms), all N² pairs at once with numpy, so N = 1,000 takes
milliseconds. No library implements this pairwise rule, hence our own code.

Pairwise rule for patients i and j, shared follow-up m = min(t_i, t_j):

1. **Survival.** i "died within the shared time" when it had the event at t_i <= t_j.
   If exactly one of the two died within the shared time, the other wins (+1 / -1).
   A death at time m beats nobody: a patient *censored* at the same m is counted as alive
   at m (deaths precede censoring at tied times, as in Kaplan–Meier). Two deaths at the same
   time tie (0) and the function is not consulted.
2. **Function.** If neither died within the shared time, the larger ALSFRS-R change (less
   decline) wins; equal changes tie (0). With a 1-D ``change`` each patient's own change
   (e.g. to the primary visit or last observation) is compared. With a 2-D matrix (one column
   per scheduled visit, NaN when not observed) the pair is compared at the last visit at
   which *both* were observed, as Finkelstein–Schoenfeld prescribe; a pair with no common
   visit, or a NaN change, ties (0).

U_i = Σ_j u_ij; T = Σ_{i in second arm} U_i; under H0 E[T] = 0 and
Var(T) = n1·n2 / (N(N−1)) · Σ U_i² (the exact permutation variance, since Σ U_i = 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from alstrial.stats.cafs_core import CAFSTest, fs_test, pairwise_scores
from alstrial.stats.endpoint_data import EndpointDataError, numeric_column, require_columns, two_arm_levels

__all__ = ["CAFSResult", "cafs_test", "pairwise_scores"]


@dataclass(frozen=True)
class CAFSResult(CAFSTest):
    """A :class:`~alstrial.stats.cafs_core.CAFSTest` with each participant's score and rank."""

    scores: pd.DataFrame = field(repr=False, kw_only=True)

    @property
    def summary(self) -> pd.DataFrame:
        """One row per arm: n, mean score U, mean CAFS rank."""
        grouped = self.scores.groupby("arm", sort=False)
        out = pd.DataFrame(
            {
                "n": grouped.size(),
                "mean_score": grouped["score"].mean(),
                "mean_rank": grouped["rank"].mean(),
            }
        )
        return out.loc[list(self.arms)]


def cafs_test(
    df: pd.DataFrame,
    *,
    arm: str,
    time: str,
    event: str | Sequence[str],
    change: str | Sequence[str],
    subject: str | None = None,
    reference: object | None = None,
    permutations: int = 0,
    seed: int | None = None,
) -> CAFSResult:
    """Score all pairs, rank the score sums and test with the F–S statistic.

    ``df`` has one row per participant. ``event`` is an indicator column (0/1, bool), or a
    list of them for a composite (death, tracheostomy, permanent ventilation: any = event);
    ``time`` is then the time to the first of those events or to censoring. ``change`` is
    one column, or a list of per-visit change columns in visit order (compared at the last
    common visit). The statistic is the score sum of the non-reference arm (second level in
    sort order unless ``reference`` is given), so positive means that arm did better.
    ``permutations`` > 0 adds a seeded permutation p-value, (1 + #{|T*| >= |T|}) / (1 + B).
    """
    what = "CAFS"
    events = [event] if isinstance(event, str) else list(event)
    changes = [change] if isinstance(change, str) else list(change)
    cols = [arm, time, *events, *changes] + ([subject] if subject else [])
    require_columns(df, cols, what=what)
    if permutations < 0:
        raise EndpointDataError(f"{what}: permutations must be >= 0 (not {permutations!r})")
    if subject is not None and df[subject].duplicated().any():
        dup = df.loc[df[subject].duplicated(), subject].iloc[0]
        raise EndpointDataError(f"{what}: expects one row per participant; subject {dup!r} appears twice")
    ref, trt = two_arm_levels(df[arm], what=what, reference=reference)
    t = numeric_column(df, time, what=what)
    if (t < 0).any():
        raise EndpointDataError(f"{what}: column {time!r} has a negative time {float(t[t < 0][0])!r}")
    ev = np.zeros(len(df), dtype=bool)
    for col in events:
        e = numeric_column(df, col, what=what)
        bad = ~np.isin(e, (0.0, 1.0))
        if bad.any():
            raise EndpointDataError(f"{what}: event column {col!r} must be 0/1, found {float(e[bad][0])!r}")
        ev |= e == 1.0
    ch = np.column_stack([numeric_column(df, c, what=what, allow_missing=True) for c in changes])
    if (~ev).any() and np.isnan(ch[~ev]).all():
        # every pair of survivors would tie: the "functional" half of the score would be silently empty
        raise EndpointDataError(
            f"{what}: change column(s) {', '.join(map(repr, changes))} have no value for any of the "
            f"{int((~ev).sum())} participant(s) without an event; the functional part cannot be ranked"
        )
    u = pairwise_scores(t, ev, ch[:, 0] if ch.shape[1] == 1 else ch).sum(axis=1, dtype=np.int64)
    return _fs_from_scores(df, u, arm=arm, subject=subject, arms=(ref, trt), permutations=permutations, seed=seed)


def _fs_from_scores(
    df: pd.DataFrame,
    u: np.ndarray,
    *,
    arm: str,
    subject: str | None,
    arms: tuple[Any, Any],
    permutations: int,
    seed: int | None,
) -> CAFSResult:
    is_trt = (df[arm] == arms[1]).to_numpy()
    fields, ranks = fs_test(u, is_trt, arms, permutations, seed)
    scores = pd.DataFrame(
        {
            "subject": df[subject].to_numpy() if subject else np.arange(u.shape[0]),
            "arm": df[arm].to_numpy(),
            "score": u,
            "rank": ranks,
        }
    )
    return CAFSResult(**fields, scores=scores)

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
from scipy import special

from alstrial.stats.endpoint_data import EndpointDataError, numeric_column, require_columns, two_arm_levels
from alstrial.stats.result import format_block, plain


def pairwise_scores(time: np.ndarray, event: np.ndarray, change: np.ndarray) -> np.ndarray:
    """Return the N×N antisymmetric matrix u_ij (+1: i better than j, −1 worse, 0 tie).

    ``change`` is 1-D (one value per patient) or 2-D (patients × visits, NaN = missing);
    see the module docstring for the rules.
    """
    t = np.asarray(time, dtype=float)
    d = np.asarray(event, dtype=bool)
    c = np.asarray(change, dtype=float)
    n = t.shape[0]
    if d.shape != (n,) or c.shape[0] != n:
        raise EndpointDataError(
            f"CAFS: time, event and change must have one entry per patient "
            f"(got {t.shape[0]}, {d.shape[0]}, {c.shape[0]})"
        )
    # died_in_shared[i, j]: i had the event at or before j's follow-up end.
    died = d[:, None] & (t[:, None] <= t[None, :])
    died_t = died.T
    scores = np.zeros((n, n), dtype=np.int8)
    scores[died_t & ~died] = 1
    scores[died & ~died_t] = -1
    neither = ~died & ~died_t
    if c.ndim == 1:
        func = np.sign(c[:, None] - c[None, :])
        func = np.nan_to_num(func, nan=0.0)
    elif c.ndim == 2:
        func = np.zeros((n, n))
        # Later visits overwrite earlier ones, so each pair ends at its last common visit.
        for v in range(c.shape[1]):
            col = c[:, v]
            obs = ~np.isnan(col)
            both = obs[:, None] & obs[None, :]
            diff = np.sign(col[:, None] - col[None, :])
            func = np.where(both, diff, func)
    else:
        raise EndpointDataError(f"CAFS: change must be 1-D or 2-D, not {c.ndim}-D")
    scores[neither] = func[neither].astype(np.int8)
    return scores


@dataclass(frozen=True)
class CAFSResult:
    """Finkelstein–Schoenfeld test and CAFS mean ranks. R has no CRAN equivalent; SAS users use macros."""

    arms: tuple[Any, Any]
    n: tuple[int, int]
    statistic: float
    variance: float
    z: float
    p_value: float
    mean_rank: dict[Any, float]
    permutations: int
    permutation_p_value: float | None
    seed: int | None
    scores: pd.DataFrame = field(repr=False)

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

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON: the test, ranks per arm and permutation p (if run)."""
        return plain(
            {
                "arms": list(self.arms),
                "n": {str(a): k for a, k in zip(self.arms, self.n, strict=True)},
                "statistic": self.statistic,
                "variance": self.variance,
                "z": self.z,
                "p_value": self.p_value,
                "mean_rank": {str(a): r for a, r in self.mean_rank.items()},
                "permutations": self.permutations,
                "permutation_p_value": self.permutation_p_value,
                "seed": self.seed,
            }
        )

    def __str__(self) -> str:
        fields: dict[str, Any] = {
            "test": "Finkelstein-Schoenfeld (CAFS)",
            "statistic T": f"{self.statistic:g} (sum of scores in arm {self.arms[1]!r})",
            "Var(T)": self.variance,
            "z": self.z,
            "p (normal)": self.p_value,
        }
        if self.permutations:
            fields["p (permutation)"] = f"{self.permutation_p_value:.6g} ({self.permutations} perms, seed {self.seed})"
        return format_block("CAFSResult", fields, self.summary)


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
    ref, trt = arms
    is_trt = (df[arm] == trt).to_numpy()
    n_total = u.shape[0]
    n2 = int(is_trt.sum())
    n1 = n_total - n2
    statistic = float(u[is_trt].sum())
    sum_sq = float(np.sum(u.astype(float) ** 2))
    variance = n1 * n2 / (n_total * (n_total - 1)) * sum_sq if n_total > 1 else 0.0
    if variance > 0:
        z = statistic / np.sqrt(variance)
        p = float(2 * special.ndtr(-abs(z)))
    else:  # every pair tied: no evidence either way
        z, p = float("nan"), 1.0
    ranks = pd.Series(u).rank(method="average").to_numpy()  # average ranks for tied scores (as scipy's rankdata)
    perm_p: float | None = None
    if permutations:
        perm_p = _permutation_p(u.astype(float), n2, statistic, permutations, seed)
    scores = pd.DataFrame(
        {
            "subject": df[subject].to_numpy() if subject else np.arange(n_total),
            "arm": df[arm].to_numpy(),
            "score": u,
            "rank": ranks,
        }
    )
    mean_rank = {ref: float(ranks[~is_trt].mean()), trt: float(ranks[is_trt].mean())}
    return CAFSResult(
        arms=(ref, trt),
        n=(n1, n2),
        statistic=statistic,
        variance=variance,
        z=float(z),
        p_value=p,
        mean_rank=mean_rank,
        permutations=permutations,
        permutation_p_value=perm_p,
        seed=seed,
        scores=scores,
    )


def _permutation_p(u: np.ndarray, n2: int, observed: float, b: int, seed: int | None) -> float:
    """Re-draw which n2 patients form the second arm; the scores U themselves do not change."""
    rng = np.random.default_rng(seed)
    chunk = max(1, min(b, 2_000_000 // max(1, u.shape[0])))
    extreme = 0
    done = 0
    tol = 1e-9 * max(1.0, abs(observed))
    while done < b:
        k = min(chunk, b - done)
        perms = rng.permuted(np.broadcast_to(u, (k, u.shape[0])), axis=1)
        sims = perms[:, :n2].sum(axis=1)
        extreme += int(np.sum(np.abs(sims) >= abs(observed) - tol))
        done += k
    return (1 + extreme) / (1 + b)

"""Simulated placebo trajectories matched to a reference sample, and a classifier that tries to
tell them apart.

Matching: each reference subject gets one simulated placebo participant with the nearest first
total (without replacement while the pool lasts), observed on the reference subject's own visit
days (relative to its first visit, rounded to a week). Trends, floors and visit counts are then
the same on both sides by construction, so what a classifier still finds is the texture of the
trajectories: how often totals stay put, how far they jump, how they scatter about a line.

The repository holds no real ALS trajectories (PRO-ACT's licence forbids redistribution), so the
reference is always the user's own file (``alstrial simulate --against FILE``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from alstrial.protocol.simulation import SimulationParams
from alstrial.simulate.cohort import simulate_cohort
from alstrial.simulate.errors import SimulationError
from alstrial.simulate.trajectory_stats import trajectory_statistics

#: reference visit days are rounded to this grid before the simulated cohort is observed on them
GRID_DAYS = 7
#: the features the classifier sees, one row per trajectory
FEATURES = (
    "slope",
    "quadratic",
    "residual_sd",
    "unchanged_share",
    "mean_abs_change",
    "largest_drop",
    "largest_rise",
)


def relative_schedule(reference: pd.DataFrame) -> pd.DataFrame:
    """Columns ``id, day, total``: days from each subject's first total, rounded to ``GRID_DAYS``."""
    r = reference.dropna(subset=["total"]).sort_values(["id", "day"], kind="stable")
    first = r.groupby("id", sort=False)["day"].transform("min")
    rel = np.rint((r["day"] - first).to_numpy(dtype=float) / GRID_DAYS) * GRID_DAYS
    out = pd.DataFrame({"id": r["id"].to_numpy(), "day": rel.astype(int), "total": r["total"].to_numpy(float)})
    return out.drop_duplicates(["id", "day"], keep="first").reset_index(drop=True)


def matched_placebo(
    reference: pd.DataFrame, params: SimulationParams | None = None, *, pool: int = 1500, seed: int | None = 0
) -> pd.DataFrame:
    """Long ``id, day, total`` of simulated placebo participants matched one-to-one to ``reference``
    on first total and visit schedule (ids are ``sim-<reference id>``)."""
    ref = relative_schedule(reference)
    days = np.array(sorted(set(ref["day"].tolist()) | {0}), dtype=int)
    if days[-1] > 5 * 365:
        raise SimulationError(f"the reference follows subjects for {days[-1]} days; at most 5 years can be matched")
    params = params or SimulationParams()
    # no dropout in the matched sample: the reference's own schedule says which visits exist
    params = params.model_copy(update={"dropout": params.dropout.model_copy(update={"base_per_month": 0.0})})
    cohort = simulate_cohort(params, max(pool, 1), seed=seed, arms=("placebo",), visit_days=tuple(int(d) for d in days))
    sim = cohort.visits.loc[cohort.visits["day"] >= 0, ["id", "day", "total"]].dropna()
    base = cohort.participants.set_index("id")["baseline_total"].astype(float)
    full = sim.pivot_table(index="id", columns="day", values="total")
    first = ref.groupby("id", sort=False)["total"].first()
    rng = np.random.default_rng(np.random.SeedSequence([0 if seed is None else seed, 4242]))
    free = np.ones(len(base), dtype=bool)
    ids, pieces = base.index.to_numpy(), []
    for subject in first.sample(frac=1.0, random_state=int(rng.integers(2**31))).index:
        if not free.any():  # pool used up: draw again from everyone
            free[:] = True
        gap = np.abs(base.to_numpy() - first[subject]) + np.where(free, 0.0, 1e6) + 1e-6 * rng.random(len(base))
        k = int(np.argmin(gap))
        free[k] = False
        sched = ref.loc[ref["id"] == subject, "day"].to_numpy()
        row = full.loc[ids[k]].reindex(sched)
        pieces.append(pd.DataFrame({"id": f"sim-{subject}", "day": sched, "total": row.to_numpy(dtype=float)}))
    return pd.concat(pieces, ignore_index=True).dropna(subset=["total"])


def trajectory_features(long: pd.DataFrame, min_visits: int = 4) -> pd.DataFrame:
    """One row per subject with ``FEATURES`` (subjects with fewer than ``min_visits`` totals dropped)."""
    traj = trajectory_statistics(long, min_visits=min_visits).set_index("subject")
    steps = long.sort_values(["id", "day"], kind="stable").groupby("id", sort=False)["total"].diff()
    g = pd.DataFrame({"id": long.sort_values(["id", "day"], kind="stable")["id"].to_numpy(), "d": steps.to_numpy()})
    g = g.dropna()
    by = g.groupby("id", sort=False)["d"]
    feat = pd.DataFrame(
        {
            "unchanged_share": by.apply(lambda d: float((d == 0).mean())),
            "mean_abs_change": by.apply(lambda d: float(d.abs().mean())),
            "largest_drop": by.apply(lambda d: float(-d.min())),
            "largest_rise": by.apply(lambda d: float(d.max())),
        }
    )
    out = traj[["slope", "quadratic", "residual_sd"]].join(feat, how="inner")
    return out[list(FEATURES)].dropna()


def _auc(score: np.ndarray, label: np.ndarray) -> float:
    ranks = pd.Series(score).rank().to_numpy()
    n1 = int(label.sum())
    n0 = label.size - n1
    return float((ranks[label == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _fit_logistic(x: np.ndarray, y: np.ndarray, ridge: float = 1e-3, iters: int = 50) -> np.ndarray:
    """Ridge-stabilised logistic regression by Newton steps (intercept first)."""
    X = np.column_stack([np.ones(len(x)), x])
    beta = np.zeros(X.shape[1])
    pen = ridge * np.eye(X.shape[1])
    pen[0, 0] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(X @ beta, -30, 30)))
        grad = X.T @ (y - p) - pen @ beta
        hess = (X * (p * (1 - p))[:, None]).T @ X + pen
        step = np.linalg.solve(hess, grad)
        beta += step
        if np.max(np.abs(step)) < 1e-8:
            break
    return beta


@dataclass(frozen=True)
class Distinguishability:
    """Cross-validated AUC of a logistic classifier (reference vs matched simulated) and its clues."""

    auc: float
    auc_se: float
    n_reference: int
    n_simulated: int
    coefficients: pd.Series  # standardised, full-data fit; the largest |value| are the strongest clues

    @property
    def strongest_clues(self) -> list[str]:
        return list(self.coefficients.abs().sort_values(ascending=False).index[:2])

    def __str__(self) -> str:
        clues = ", ".join(f"{k} ({self.coefficients[k]:+.2f})" for k in self.strongest_clues)
        return (
            f"Classifier (logistic regression on {len(FEATURES)} per-trajectory features, 5-fold CV): AUC "
            f"{self.auc:.3f} (SE {self.auc_se:.3f}); 0.5 = indistinguishable. {self.n_reference} reference vs "
            f"{self.n_simulated} matched simulated trajectories. Strongest clues: {clues}. "
            "Positive coefficients point to the reference data."
        )


def distinguishability(
    reference: pd.DataFrame, simulated: pd.DataFrame, *, folds: int = 5, seed: int = 0
) -> Distinguishability:
    """Train a logistic regression to tell ``reference`` (label 1) from ``simulated`` trajectories."""
    a, b = trajectory_features(reference), trajectory_features(simulated)
    if min(len(a), len(b)) < 2 * folds:
        raise SimulationError(
            f"the classifier needs at least {2 * folds} trajectories with >= 4 totals on each side"
            f" (reference {len(a)}, simulated {len(b)})"
        )
    x = np.vstack([a.to_numpy(), b.to_numpy()])
    y = np.r_[np.ones(len(a)), np.zeros(len(b))]
    mu, sd = x.mean(axis=0), x.std(axis=0)
    sd[sd == 0] = 1.0
    z = (x - mu) / sd
    rng = np.random.default_rng(seed)
    fold = rng.permutation(np.arange(len(y)) % folds)
    score = np.empty(len(y))
    for f in range(folds):
        test = fold == f
        beta = _fit_logistic(z[~test], y[~test])
        score[test] = beta[0] + z[test] @ beta[1:]
    auc = _auc(score, y)
    n1, n0 = len(a), len(b)
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    se = float(np.sqrt((auc * (1 - auc) + (n1 - 1) * (q1 - auc**2) + (n0 - 1) * (q2 - auc**2)) / (n1 * n0)))
    coef = pd.Series(_fit_logistic(z, y)[1:], index=list(FEATURES))
    return Distinguishability(auc=auc, auc_se=se, n_reference=n1, n_simulated=n0, coefficients=coef)

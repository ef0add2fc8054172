"""The Finkelstein–Schoenfeld test of CAFS on arrays: pairwise scores, the statistic, ranks.

The rules are in :mod:`alstrial.stats.cafs`'s docstring. This part needs numpy and
``scipy.special`` only, so that ``alstrial stats cafs`` runs it on a CSV file without importing
pandas; :func:`alstrial.stats.cafs.cafs_test` (DataFrames) runs the same code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special

from alstrial.stats.errors import EndpointDataError
from alstrial.stats.plain import field_lines, plain
from alstrial.stats.text_table import render_table


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


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..N, tied values sharing the average of their ranks (pandas' ``rank()``, scipy's ``rankdata``)."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    last = np.cumsum(counts)
    return np.asarray((last - (counts - 1) / 2.0)[inverse.ravel()], dtype=float)


@dataclass(frozen=True)
class CAFSTest:
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
    mean_score: Mapping[Any, float] = field(repr=False)

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
        arms = list(self.arms)
        table = render_table(
            arms,
            [
                ("n", np.array(self.n, dtype=np.int64)),
                ("mean_score", np.array([self.mean_score[a] for a in arms])),
                ("mean_rank", np.array([self.mean_rank[a] for a in arms])),
            ],
            lambda v: f"{v:.6g}",
            "arm",
        )
        return "\n".join([*field_lines("CAFSResult", fields), "", table])


def fs_test(
    u: np.ndarray, is_trt: np.ndarray, arms: tuple[Any, Any], permutations: int, seed: int | None
) -> tuple[dict[str, Any], np.ndarray]:
    """The test on score sums ``u`` (one per patient): the fields of a :class:`CAFSTest`, and the ranks."""
    ref, trt = arms
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
    ranks = average_ranks(u)
    perm_p: float | None = None
    if permutations:
        perm_p = permutation_p(u.astype(float), n2, statistic, permutations, seed)
    fields = {
        "arms": (ref, trt),
        "n": (n1, n2),
        "statistic": statistic,
        "variance": variance,
        "z": float(z),
        "p_value": p,
        "mean_rank": {ref: float(ranks[~is_trt].mean()), trt: float(ranks[is_trt].mean())},
        "permutations": permutations,
        "permutation_p_value": perm_p,
        "seed": seed,
        "mean_score": {ref: float(u[~is_trt].mean()), trt: float(u[is_trt].mean())},
    }
    return fields, ranks


def permutation_p(u: np.ndarray, n2: int, observed: float, b: int, seed: int | None) -> float:
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

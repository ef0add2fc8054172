"""Subject-by-visit padded arrays, the layout all likelihood computations run on.

Subjects become rows of an (n, m) response array and an (n, m, k) design array with zeros where
a visit is missing. Each subject's missingness pattern (and covariance group) indexes a small
stack of per-pattern matrices, so the likelihood is a handful of batched numpy operations whose
cost is linear in subjects — no Python loop over subjects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RepeatedArrays:
    """Padded, weight-scaled responses and designs plus pattern bookkeeping."""

    y: np.ndarray  # (n, m), sqrt(weight)-scaled, 0 where missing
    x: np.ndarray  # (n, m, k), sqrt(weight)-scaled, 0 where missing
    mask: np.ndarray  # (n, m) bool, True where observed
    group: np.ndarray  # (n,) int covariance group of each subject
    pattern: np.ndarray  # (n,) int index into pattern_mask
    pattern_mask: np.ndarray  # (P, m) bool
    pattern_group: np.ndarray  # (P,) int
    pattern_count: np.ndarray  # (P,) int subjects per pattern
    log_weight_sum: float  # Σ log w over observations (Jacobian of the weight scaling)
    n_groups: int

    @property
    def n_subjects(self) -> int:
        return int(self.y.shape[0])

    @property
    def n_visits(self) -> int:
        return int(self.y.shape[1])

    @property
    def n_obs(self) -> int:
        return int(self.mask.sum())

    @property
    def n_coef(self) -> int:
        return int(self.x.shape[2])


def make_arrays(
    subject_idx: np.ndarray,
    visit_idx: np.ndarray,
    y: np.ndarray,
    x: np.ndarray,
    weights: np.ndarray,
    group_of_subject: np.ndarray,
    n_visits: int,
    n_groups: int,
) -> RepeatedArrays:
    """Scatter long-format observations (one row per observed visit) into padded arrays."""
    n = int(group_of_subject.shape[0])
    k = x.shape[1]
    sw = np.sqrt(weights)
    ypad = np.zeros((n, n_visits))
    xpad = np.zeros((n, n_visits, k))
    mask = np.zeros((n, n_visits), dtype=bool)
    ypad[subject_idx, visit_idx] = y * sw
    xpad[subject_idx, visit_idx] = x * sw[:, None]
    mask[subject_idx, visit_idx] = True
    keys = np.concatenate([group_of_subject[:, None], mask.astype(np.int64)], axis=1)
    uniq, pattern, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    return RepeatedArrays(
        y=ypad,
        x=xpad,
        mask=mask,
        group=group_of_subject.astype(int),
        pattern=pattern.ravel().astype(int),
        pattern_mask=uniq[:, 1:].astype(bool),
        pattern_group=uniq[:, 0].astype(int),
        pattern_count=counts.astype(int),
        log_weight_sum=float(np.log(weights).sum()),
        n_groups=n_groups,
    )

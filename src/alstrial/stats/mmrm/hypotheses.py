"""Hypothesis matrices on the coefficient scale: reference grids, LS means, type III terms.

LS means follow SAS/emmeans: the model's prediction on a grid of all factor levels with numeric
covariates at their means, then averaged over the factors not asked for, with equal weights
(SAS default, emmeans default) or proportional to their frequencies in the data (SAS ``OM``).
Type III hypotheses are the interaction-style contrasts of the term's factors on that grid,
averaging the other factors equally — SAS's type III when every cell is estimable.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from alstrial.stats.mmrm.errors import MMRMSpecError
from alstrial.stats.mmrm.formula import Design

Weighting = Literal["equal", "proportional"]


def reference_grid(design: Design, frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """All combinations of factor levels, covariates at their means; returns (grid, X rows)."""
    factors = [v for v in design.variables.values() if v.levels is not None]
    numeric = [v.name for v in design.variables.values() if v.levels is None]
    combos = list(itertools.product(*[f.levels or () for f in factors])) if factors else [()]
    grid = pd.DataFrame(combos, columns=[f.name for f in factors])
    for name in numeric:
        grid[name] = float(frame[name].astype(float).mean())
    return grid, design.matrix(grid)


def _weights(grid: pd.DataFrame, frame: pd.DataFrame, others: list[str], weighting: Weighting) -> np.ndarray:
    if not others or weighting == "equal":
        return np.ones(len(grid))
    counts = frame.groupby([frame[o].astype(str) for o in others]).size()
    keys = grid[others].astype(str)
    idx = pd.MultiIndex.from_frame(keys) if len(others) > 1 else pd.Index(keys[others[0]])
    return counts.reindex(idx).fillna(0.0).to_numpy(dtype=float)


def lsmeans_matrix(
    design: Design, frame: pd.DataFrame, specs: Sequence[str], weighting: Weighting = "equal"
) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows of L giving the LS mean of each combination of ``specs`` factors."""
    factor_names = [v.name for v in design.variables.values() if v.levels is not None]
    bad = [s for s in specs if s not in factor_names]
    if bad:
        raise MMRMSpecError(f"LS means need factors of the model; {bad!r} not in {factor_names!r}")
    if weighting not in ("equal", "proportional"):
        raise MMRMSpecError(f"invalid value for weights, expected 'equal' or 'proportional' (not {weighting!r})")
    grid, xg = reference_grid(design, frame)
    others = [f for f in factor_names if f not in specs]
    w = _weights(grid, frame, others, weighting)
    levels = [design.variables[s].levels or () for s in specs]
    labels = list(itertools.product(*levels)) if specs else [()]
    rows = []
    for combo in labels:
        sel = np.ones(len(grid), dtype=bool)
        for name, level in zip(specs, combo, strict=True):
            sel &= (grid[name] == level).to_numpy()
        ws = w * sel
        if ws.sum() <= 0:
            ws = sel.astype(float)
        rows.append((ws / ws.sum()) @ xg)
    return pd.DataFrame(labels, columns=list(specs)), np.array(rows)


def type3_matrix(design: Design, frame: pd.DataFrame, term: str) -> np.ndarray:
    """L for SAS's type III test of ``term`` (e.g. ``"RACE"``, ``"ARMCD:AVISIT"``)."""
    labels = {tc.term.label: tc for tc in design.codings}
    wanted = None
    for label, tc in labels.items():
        if label == term or (set(tc.term.variables) == set(term.split(":")) and tc.term.variables):
            wanted = tc
    if wanted is None:
        raise MMRMSpecError(f"unknown term {term!r}; the model's terms are {list(labels)!r}")
    if not wanted.term.variables:
        row = np.zeros(design.n_columns)
        row[0] = 1.0
        return row[None, :]
    grid, _ = reference_grid(design, frame)
    xg = _mixed_difference(design, grid, [v for v in wanted.term.variables if design.variables[v].levels is None])
    factors = [v for v in design.variables.values() if v.levels is not None]
    mats = []
    for f in factors:
        n = len(f.levels or ())
        if f.name in wanted.term.variables:
            mats.append(np.hstack([np.eye(n - 1), -np.ones((n - 1, 1))]) if n > 1 else np.zeros((0, 1)))
        else:
            mats.append(np.full((1, n), 1.0 / n))
    kron: np.ndarray = np.ones((1, 1))
    for mat in mats:  # grid rows vary the last factor fastest → Kronecker in factor order
        kron = np.kron(kron, mat)
    lmat = np.asarray(kron @ xg, dtype=float)
    lmat[np.abs(lmat) < 1e-12] = 0.0
    return lmat


def _mixed_difference(design: Design, grid: pd.DataFrame, numeric: list[str]) -> np.ndarray:
    """Design rows differenced once in each covariate of the term (its slope); exact because the
    design is multilinear in each covariate. With no covariate this is the design itself."""
    out = np.zeros((len(grid), design.n_columns))
    for size in range(len(numeric) + 1):
        for subset in itertools.combinations(numeric, size):
            bumped = grid.copy()
            for name in subset:
                bumped[name] = bumped[name] + 1.0
            out += (-1.0) ** (len(numeric) - size) * design.matrix(bumped)
    return out

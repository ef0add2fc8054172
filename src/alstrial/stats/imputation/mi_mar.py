"""Multiple imputation of missing visits under MAR, or jump to reference, from a per-arm MVN.

Each arm's (baseline, visit 1..K) vector is multivariate normal. For every imputation the
parameters are drawn by bootstrap + EM, as Amelia II does (Honaker, King & Blackwell 2011):
resample the arm's participants with replacement, fit mean and covariance by EM (arbitrary
missingness), then draw each participant's missing visits from the conditional normal given
their observed ones. This is proper MI (parameter uncertainty propagated) without MCMC.

``method="jump_to_reference"``, ``"copy_reference"`` and ``"copy_increments_in_reference"``
impute the active arm's visits after its last observed one with the reference-based joint
parameters (see ``reference_based``); visits missing *before* a participant's last
observation are imputed under MAR in every method. Everything is driven by
one ``seed``: same data, same seed, same imputations.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from alstrial.stats.endpoint_data import EndpointDataError, numeric_column, require_columns, two_arm_levels
from alstrial.stats.imputation.analysis import Analysis, AnalysisEstimate
from alstrial.stats.imputation.mvn_em import conditional_draw, mvn_em
from alstrial.stats.imputation.reference_based import (
    copy_increments_params,
    copy_reference_params,
    jump_to_reference_params,
)
from alstrial.stats.imputation.rubin import RubinResult, rubin_combine
from alstrial.stats.result import format_block, plain

ImputationMethod = Literal["mar", "jump_to_reference", "copy_reference", "copy_increments_in_reference"]
IMPUTATION_METHODS: tuple[str, ...] = ("mar", "jump_to_reference", "copy_reference", "copy_increments_in_reference")
_REFERENCE_BASED = {
    "jump_to_reference": jump_to_reference_params,
    "copy_reference": copy_reference_params,
    "copy_increments_in_reference": copy_increments_params,
}
_MAX_BOOTSTRAP_TRIES = 50


@dataclass(frozen=True)
class ImputedData:
    """m completed versions of a wide dataset, stored as draws at the missing cells only."""

    wide: pd.DataFrame = field(repr=False)
    arm: str
    arms: tuple[Any, Any]
    columns: tuple[str, ...]
    method: ImputationMethod
    m: int
    seed: int | None
    missing: np.ndarray = field(repr=False)  # n × p bool
    draws: np.ndarray = field(repr=False)  # m × n × p, NaN where observed

    def dataset(self, k: int, *, delta: float = 0.0) -> pd.DataFrame:
        """Completed dataset ``k``; ``delta`` is added to every imputed value of the active arm.

        The delta is not propagated through later visits (all imputed visits shift by the same
        amount), the usual delta-adjusted MAR of tipping-point analyses.
        """
        if not 0 <= k < self.m:
            raise EndpointDataError(f"imputation index must be in 0..{self.m - 1} (not {k!r})")
        values = self.wide[list(self.columns)].to_numpy(dtype=float).copy()
        fill = self.draws[k].copy()
        if delta:
            active = (self.wide[self.arm] == self.arms[1]).to_numpy()
            fill[active] += delta
        values[self.missing] = fill[self.missing]
        out = self.wide.copy()
        out[list(self.columns)] = values
        return out

    def datasets(self, *, delta: float = 0.0) -> Iterator[pd.DataFrame]:
        for k in range(self.m):
            yield self.dataset(k, delta=delta)


@dataclass(frozen=True)
class MIResult:
    """Rubin-combined result of one analysis over the imputations, with each imputation's estimate."""

    method: ImputationMethod
    delta: float
    pooled: RubinResult
    per_imputation: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        return plain({"method": self.method, "delta": self.delta, **self.pooled.to_dict()})

    def __str__(self) -> str:
        return format_block(f"MIResult ({self.method}, delta {self.delta:g})", {}) + "\n" + str(self.pooled)


def _fit_arm(x: np.ndarray, rng: np.random.Generator, *, bootstrap: bool) -> tuple[np.ndarray, np.ndarray]:
    if not bootstrap:
        return mvn_em(x)
    n = x.shape[0]
    for _ in range(_MAX_BOOTSTRAP_TRIES):
        sample = x[rng.integers(0, n, n)]
        if ((~np.isnan(sample)).sum(axis=0) >= 2).all():
            try:
                mu, sigma = mvn_em(sample)
                np.linalg.cholesky(sigma)  # the draws condition on it: it must be positive definite
                return mu, sigma
            except np.linalg.LinAlgError:
                # a small arm's resample can repeat rows until its covariance is singular: like a
                # resample with too few values at a visit, it cannot be fitted, so draw another
                continue
    raise EndpointDataError(
        f"imputation: no usable bootstrap resample of the arm in {_MAX_BOOTSTRAP_TRIES} draws (each had a visit "
        "with fewer than 2 observed values or a singular covariance); the arm is too small for bootstrap imputation"
    )


def impute_mvn(
    wide: pd.DataFrame,
    *,
    arm: str,
    baseline: str,
    visits: Sequence[str],
    m: int = 50,
    seed: int | None = None,
    method: ImputationMethod = "mar",
    reference: object | None = None,
) -> ImputedData:
    """Impute the missing ``visits`` (in visit order) of a one-row-per-participant frame.

    ``baseline`` must be complete; it is part of the MVN so imputations condition on it.
    ``reference`` is the control arm (first level in sort order by default), the arm that
    J2R participants jump to.
    """
    what = "imputation"
    if method not in IMPUTATION_METHODS:
        raise EndpointDataError(
            f"invalid value for method, expected one of {', '.join(map(repr, IMPUTATION_METHODS))} (not {method!r})"
        )
    if m < 2:
        raise EndpointDataError(f"{what}: m must be at least 2 (not {m!r})")
    if not visits:
        raise EndpointDataError(f"{what}: give at least one visit column")
    columns = (baseline, *visits)
    require_columns(wide, [arm, *columns], what=what)
    numeric_column(wide, baseline, what=what)  # baseline must be complete and numeric
    x = np.column_stack([numeric_column(wide, c, what=what, allow_missing=True) for c in columns])
    ref, trt = two_arm_levels(wide[arm], what=what, reference=reference)
    arm_values = wide[arm].to_numpy()
    missing = np.isnan(x)
    n, p = x.shape
    # Last observed column per participant: J2R applies only after it.
    last_obs = p - 1 - np.argmax(~missing[:, ::-1], axis=1)
    rng = np.random.default_rng(seed)
    draws = np.full((m, n, p), np.nan)
    rows_of = {a: np.flatnonzero(arm_values == a) for a in (ref, trt)}
    needs = np.flatnonzero(missing.any(axis=1))
    for k in range(m):
        params = {a: _fit_arm(x[idx], rng, bootstrap=True) for a, idx in rows_of.items()}
        groups: dict[tuple[Any, bytes, int], list[int]] = {}
        for i in needs:
            a = arm_values[i]
            cut = int(last_obs[i]) if (method != "mar" and a == trt) else p
            groups.setdefault((a, missing[i].tobytes(), cut), []).append(int(i))
        for (a, _, cut), idx_list in groups.items():
            idx = np.asarray(idx_list)
            obs = ~missing[idx[0]]
            mu, sigma = params[a]
            if cut < p:
                on_treatment = np.arange(p) <= cut
                mu, sigma = _REFERENCE_BASED[method](mu, sigma, *params[ref], on_treatment)
            draws[k][np.ix_(idx, ~obs)] = conditional_draw(x[np.ix_(idx, obs)], obs, mu, sigma, rng)
    return ImputedData(
        wide=wide.copy(),
        arm=arm,
        arms=(ref, trt),
        columns=columns,
        method=method,
        m=m,
        seed=seed,
        missing=missing,
        draws=draws,
    )


def analyse_imputed(
    imputed: ImputedData, analysis: Analysis, *, delta: float = 0.0, conf_level: float = 0.95
) -> MIResult:
    """Run ``analysis`` on every completed dataset and pool with Rubin's rules (Barnard–Rubin df)."""
    estimates: list[AnalysisEstimate] = [analysis(d) for d in imputed.datasets(delta=delta)]
    table = pd.DataFrame(
        {
            "imputation": np.arange(imputed.m),
            "estimate": [e.estimate for e in estimates],
            "variance": [e.variance for e in estimates],
            "df": [e.df for e in estimates],
        }
    )
    pooled = rubin_combine(
        table["estimate"].to_numpy(),
        table["variance"].to_numpy(),
        df_complete=float(table["df"].min()),
        conf_level=conf_level,
    )
    return MIResult(method=imputed.method, delta=delta, pooled=pooled, per_imputation=table)

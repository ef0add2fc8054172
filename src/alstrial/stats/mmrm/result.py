"""The frozen result of an MMRM fit: coefficients, covariance, fit criteria and inference helpers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from alstrial import __version__
from alstrial.stats.mmrm.ddf import FTestResult, Inference
from alstrial.stats.mmrm.errors import MMRMSpecError
from alstrial.stats.mmrm.formula import Design
from alstrial.stats.mmrm.hypotheses import Weighting, lsmeans_matrix, type3_matrix
from alstrial.stats.mmrm.lsmeans import LSMeans
from alstrial.stats.mmrm.spec import MMRMSpec
from alstrial.stats.mmrm.summary import COLUMNS, Report, fit_criteria
from alstrial.stats.mmrm.tables import t_table


@dataclass(frozen=True)
class FTest:
    """A multi-degree-of-freedom F test (SAS "Type 3 Tests of Fixed Effects" row)."""

    term: str
    f: float
    num_df: int
    den_df: float
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        return {"term": self.term, "f": self.f, "num_df": self.num_df, "den_df": self.den_df, "p_value": self.p_value}

    def __str__(self) -> str:
        return f"{self.term}: F({self.num_df}, {self.den_df:.2f}) = {self.f:.4f}, p = {self.p_value:.4g}"


@dataclass(frozen=True, eq=False)
class MMRMResult:
    """A fitted MMRM (compare R ``summary(mmrm(...))`` / SAS PROC MIXED listing)."""

    spec: MMRMSpec
    summary: pd.DataFrame  # index = term; estimate, std_error, df, statistic, p_value, ci_lower, ci_upper
    cov_beta: pd.DataFrame
    covariances: Mapping[str, pd.DataFrame]  # per covariance group, visits × visits
    cov_parameters: pd.DataFrame  # SAS-named covariance parameters (natural scale) and SEs
    minus2_log_likelihood: float
    n_cov_parameters: int
    converged: bool
    optimizer: str
    n_subjects: int
    n_observations: int
    visits: tuple[str, ...]
    version: str = __version__
    _inference: Inference = field(repr=False, default=None)  # type: ignore[assignment]
    _design: Design = field(repr=False, default=None)  # type: ignore[assignment]
    _frame: pd.DataFrame = field(repr=False, default=None)  # type: ignore[assignment]

    # --- fit criteria (SAS convention) ---------------------------------------------------
    @property
    def n_criteria_parameters(self) -> int:
        """Parameters counted by AIC/BIC: covariance only for REML, plus fixed effects for ML."""
        extra = len(self.summary) if self.spec.method == "ml" else 0
        return self.n_cov_parameters + extra

    @property
    def log_likelihood(self) -> float:
        return -0.5 * self.minus2_log_likelihood

    @property
    def aic(self) -> float:
        return self._criteria()[0]

    @property
    def bic(self) -> float:
        return self._criteria()[1]

    def _criteria(self) -> tuple[float, float]:
        n_fixed = len(self.summary)
        return fit_criteria(
            self.spec.method, self.minus2_log_likelihood, self.n_cov_parameters, n_fixed, self.n_subjects
        )

    @property
    def covariance(self) -> pd.DataFrame:
        """The fitted residual covariance matrix (stacked by group when grouped)."""
        if len(self.covariances) == 1:
            return next(iter(self.covariances.values()))
        return pd.concat(dict(self.covariances), names=["group", "visit"])

    @property
    def params(self) -> pd.Series:
        return self.summary["estimate"]

    # --- inference -------------------------------------------------------------------------
    def _l_matrix(self, lmat: Any) -> np.ndarray:
        names = list(self.summary.index)
        if isinstance(lmat, Mapping):
            unknown = [k for k in lmat if k not in names]
            if unknown:
                raise MMRMSpecError(f"unknown coefficient(s) {unknown!r}; coefficients are {names!r}")
            row = np.array([float(lmat.get(n, 0.0)) for n in names])
            return row[None, :]
        arr = np.atleast_2d(np.asarray(lmat, dtype=float))
        if arr.shape[1] != len(names):
            raise MMRMSpecError(f"contrast matrix must have {len(names)} columns (not {arr.shape[1]})")
        return arr

    def contrast(self, lmat: Any, names: list[str] | None = None) -> pd.DataFrame:
        """Estimate, SE, df, t, p and CI for each row of L (array or {coefficient: weight})."""
        arr = self._l_matrix(lmat)
        index = names if names is not None else [f"contrast {i + 1}" for i in range(arr.shape[0])]
        return t_table(self._inference.contrast_rows(arr), index, self.spec.alpha)

    def f_test(self, term_or_l: Any) -> FTest:
        """Type III F test of a model term (``"RACE"``) or a joint test of the rows of L."""
        if isinstance(term_or_l, str):
            lmat = type3_matrix(self._design, self._frame, term_or_l)
            label = term_or_l
        else:
            lmat = self._l_matrix(term_or_l)
            label = "L"
        res: FTestResult = self._inference.f_test(lmat)
        return FTest(label, res.f, res.num_df, res.den_df, res.p_value)

    def type3(self) -> pd.DataFrame:
        """Type III tests of every term except the intercept."""
        rows = [self.f_test(tc.term.label).to_dict() for tc in self._design.codings if tc.term.variables]
        return pd.DataFrame(rows).set_index("term")

    def lsmeans_rows(self, specs: list[str], weights: Weighting = "equal") -> tuple[pd.DataFrame, np.ndarray]:
        """The rows of L giving the LS mean of each combination of the ``specs`` factors, with their
        labels: differences of these rows are the contrasts SAS writes as ``ESTIMATE`` or ``LSMESTIMATE``."""
        return lsmeans_matrix(self._design, self._frame, specs, weights)

    def lsmeans(self, factor: str, by: str | None = None, weights: Weighting = "equal") -> LSMeans:
        """LS means of ``factor`` within levels of ``by``, and differences from the reference level."""
        specs = [factor] + ([by] if by else [])
        labels, lmat = lsmeans_matrix(self._design, self._frame, specs, weights)
        index = (
            pd.MultiIndex.from_frame(labels[[*([by] if by else []), factor]])
            if by
            else pd.Index(labels[factor], name=factor)
        )
        table = t_table(self._inference.contrast_rows(lmat), index, self.spec.alpha)
        var = self._design.variables[factor]
        levels = list(var.levels or ())
        ref = var.reference or levels[0]
        diff_rows: list[np.ndarray] = []
        diff_index: list[Any] = []
        by_levels = list(self._design.variables[by].levels or ()) if by else [None]
        for b in by_levels:
            sel = (labels[by] == b).to_numpy() if by else np.ones(len(labels), dtype=bool)
            ref_row = lmat[sel & (labels[factor] == ref).to_numpy()][0]
            for lv in levels:
                if lv == ref:
                    continue
                diff_rows.append(lmat[sel & (labels[factor] == lv).to_numpy()][0] - ref_row)
                diff_index.append((b, f"{lv} - {ref}") if by else f"{lv} - {ref}")
        didx = (
            pd.MultiIndex.from_tuples(diff_index, names=[by, "contrast"])
            if by
            else pd.Index(diff_index, name="contrast")
        )
        differences = t_table(self._inference.contrast_rows(np.array(diff_rows)), didx, self.spec.alpha)
        return LSMeans(factor, by, weights, table, differences)

    # --- presentation ----------------------------------------------------------------------
    def report(self) -> Report:
        """The result as plain numbers, which print and serialise it (the command line's form)."""
        return Report(
            spec=self.spec,
            terms=[str(t) for t in self.summary.index],
            table={c: self.summary[c].to_numpy(dtype=float) for c in COLUMNS},
            covariances=[(g, list(map(str, c.index)), c.to_numpy()) for g, c in self.covariances.items()],
            cov_parameters=[
                (str(n), r["group"], r["estimate"], r["std_error"]) for n, r in self.cov_parameters.iterrows()
            ],
            minus2ll=self.minus2_log_likelihood,
            aic=self.aic,
            bic=self.bic,
            converged=self.converged,
            optimizer=self.optimizer,
            n_subjects=self.n_subjects,
            n_observations=self.n_observations,
            visits=self.visits,
            version=self.version,
        )

    def to_dict(self) -> dict[str, Any]:
        return self.report().to_dict()

    def __str__(self) -> str:
        return self.report().text()

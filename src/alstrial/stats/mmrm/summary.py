"""An MMRM fit as plain numbers, and its text and dictionary forms, without pandas.

:class:`~alstrial.stats.mmrm.result.MMRMResult` (pandas tables, the library's API) is built from a
:class:`FitSummary`, and prints and serialises itself through :func:`summary_text` and
:func:`summary_dict`; ``alstrial stats mmrm`` uses the same three on a CSV file read without pandas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from alstrial.stats.mmrm.covariance import make_structure
from alstrial.stats.mmrm.ddf import DfResult, Inference
from alstrial.stats.mmrm.fit import fit_arrays
from alstrial.stats.mmrm.prepare_core import PreparedArrays
from alstrial.stats.mmrm.spec import MMRMSpec
from alstrial.stats.mmrm.threads import single_blas_thread
from alstrial.stats.text_table import render_table

COLUMNS = ("estimate", "std_error", "df", "statistic", "p_value", "ci_lower", "ci_upper")


def t_columns(res: DfResult, alpha: float) -> dict[str, np.ndarray]:
    """t statistics, two-sided p values and (1 − alpha) confidence intervals, by column."""
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = res.estimate / res.std_error
    df = res.df
    # scipy.special rather than scipy.stats: the same functions without scipy.stats' import time
    p = 2.0 * special.stdtr(df, -np.abs(stat))
    crit = special.stdtrit(df, 1.0 - alpha / 2.0)
    columns = {
        "estimate": res.estimate,
        "std_error": res.std_error,
        "df": df,
        "statistic": stat,
        "p_value": p,
        "ci_lower": res.estimate - crit * res.std_error,
        "ci_upper": res.estimate + crit * res.std_error,
    }
    return {k: np.asarray(v, dtype=float) * np.ones(len(res.estimate)) for k, v in columns.items()}


def fit_criteria(method: str, minus2ll: float, n_cov: int, n_fixed: int, n_subjects: int) -> tuple[float, float]:
    """AIC and BIC, SAS's convention: REML counts the covariance parameters only, ML the fixed effects too."""
    k = n_cov + (n_fixed if method == "ml" else 0)
    return minus2ll + 2 * k, minus2ll + k * float(np.log(n_subjects))


@dataclass(frozen=True)
class FitSummary:
    """Everything a fitted MMRM reports, as arrays."""

    spec: MMRMSpec
    prepared: PreparedArrays
    terms: tuple[str, ...]
    table: dict[str, np.ndarray]  # COLUMNS, one value per term
    sigmas: np.ndarray  # (G, m, m)
    cov_parameter_names: tuple[str, ...]
    cov_parameter_groups: tuple[str, ...]
    cov_parameters: np.ndarray  # natural scale
    cov_parameter_se: np.ndarray
    minus2_log_likelihood: float
    n_cov_parameters: int
    converged: bool
    optimizer: str
    inference: Inference

    @property
    def visits(self) -> tuple[str, ...]:
        return self.prepared.visits

    @property
    def groups(self) -> tuple[str, ...]:
        return self.prepared.groups

    @property
    def n_subjects(self) -> int:
        return self.prepared.arrays.n_subjects

    @property
    def n_observations(self) -> int:
        return self.prepared.arrays.n_obs

    def criteria(self) -> tuple[float, float]:
        return fit_criteria(
            self.spec.method, self.minus2_log_likelihood, self.n_cov_parameters, len(self.terms), self.n_subjects
        )


def fit_prepared(spec: MMRMSpec, prepared: PreparedArrays) -> FitSummary:
    """Fit the model on prepared arrays and gather its coefficient table and covariance parameters."""
    structure = make_structure(spec.cov, len(prepared.visits))
    with single_blas_thread():
        outcome = fit_arrays(spec, prepared, structure)
    terms = tuple(prepared.design.column_names)
    inference = outcome.inference
    table = t_columns(inference.contrast_rows(np.eye(len(terms))), spec.alpha)
    names = tuple(structure.natural_names()) * len(prepared.groups)
    groups = tuple(g for g in prepared.groups for _ in structure.natural_names())
    se = np.sqrt(np.clip(np.diag(outcome.natural_cov), 0, None))
    return FitSummary(
        spec=spec,
        prepared=prepared,
        terms=terms,
        table=table,
        sigmas=outcome.sigmas,
        cov_parameter_names=names,
        cov_parameter_groups=groups,
        cov_parameters=outcome.natural.ravel(),
        cov_parameter_se=se,
        minus2_log_likelihood=float(outcome.optim.value),
        n_cov_parameters=structure.n_theta * len(prepared.groups),
        converged=bool(outcome.optim.converged),
        optimizer=outcome.optim.optimizer,
        inference=inference,
    )


def _num(v: Any) -> Any:
    if isinstance(v, float | np.floating):
        return float(v) if np.isfinite(v) else None
    return v


@dataclass(frozen=True)
class Report:
    """What a fit prints and serialises; one implementation for the library's result and the CLI."""

    spec: MMRMSpec
    terms: Sequence[str]
    table: dict[str, np.ndarray]  # COLUMNS
    covariances: Sequence[tuple[str, Sequence[str], np.ndarray]]  # (group, visits, matrix)
    cov_parameters: Sequence[tuple[str, str, float, float]]  # (name, group, estimate, std_error)
    minus2ll: float
    aic: float
    bic: float
    converged: bool
    optimizer: str
    n_subjects: int
    n_observations: int
    visits: Sequence[str]
    version: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data, NaN and infinities as None (``MMRMResult.to_dict()``)."""
        return {
            "spec": self.spec.to_dict(),
            "coefficients": [
                {"term": str(t), **{c: _num(self.table[c][i]) for c in COLUMNS}} for i, t in enumerate(self.terms)
            ],
            "covariance": {g: {"visits": list(v), "matrix": np.asarray(m).tolist()} for g, v, m in self.covariances},
            "cov_parameters": [
                {"name": str(n), "group": g, "estimate": _num(e), "std_error": _num(se)}
                for n, g, e, se in self.cov_parameters
            ],
            "minus2_log_likelihood": self.minus2ll,
            "log_likelihood": -0.5 * self.minus2ll,
            "aic": self.aic,
            "bic": self.bic,
            "converged": self.converged,
            "optimizer": self.optimizer,
            "n_subjects": self.n_subjects,
            "n_observations": self.n_observations,
            "alstrial_version": self.version,
        }

    def text(self) -> str:
        """The printed result (compare R's ``summary(mmrm(...))``): fit statistics, fixed effects, covariance."""
        spec = self.spec
        head = [
            "Mixed model for repeated measures (MMRM)",
            f"  response {spec.response} ~ {spec.fixed}",
            f"  covariance {spec.cov}"
            + (f" by {spec.group}" if spec.group else "")
            + f", method {spec.method.upper()}, df {spec.df}, vcov {spec.vcov}",
            f"  subjects {self.n_subjects}, observations {self.n_observations}, visits {', '.join(self.visits)}",
            f"  converged {self.converged} ({self.optimizer})",
            "",
            "Fit statistics",
            f"  -2 log-likelihood {self.minus2ll:.5f}   AIC {self.aic:.5f}   BIC {self.bic:.5f}",
            "",
            "Fixed effects",
        ]
        body = render_table(list(self.terms), [(c, self.table[c]) for c in COLUMNS], lambda v: f"{v:.5g}", "term")
        cov_text = "\n\n".join(
            (f"group {g}\n" if len(self.covariances) > 1 else "")
            + render_table(list(v), [(str(c), np.asarray(m)[:, j]) for j, c in enumerate(v)], lambda x: f"{x:.4f}")
            for g, v, m in self.covariances
        )
        return "\n".join([*head, body, "", "Covariance matrix", cov_text, "", f"alstrial {self.version}"])


def summary_report(s: FitSummary, version: str) -> Report:
    """The report of a fit made by :func:`fit_prepared`."""
    aic, bic = s.criteria()
    cov_parameters = list(
        zip(
            s.cov_parameter_names,
            s.cov_parameter_groups,
            s.cov_parameters.tolist(),
            s.cov_parameter_se.tolist(),
            strict=True,
        )
    )
    return Report(
        spec=s.spec,
        terms=s.terms,
        table=s.table,
        covariances=[(g, s.visits, s.sigmas[i]) for i, g in enumerate(s.groups)],
        cov_parameters=cov_parameters,
        minus2ll=s.minus2_log_likelihood,
        aic=aic,
        bic=bic,
        converged=s.converged,
        optimizer=s.optimizer,
        n_subjects=s.n_subjects,
        n_observations=s.n_observations,
        visits=s.visits,
        version=version,
    )

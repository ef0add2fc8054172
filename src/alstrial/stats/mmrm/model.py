"""``MMRM(spec).fit(data)`` and the one-call :func:`fit_mmrm`."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from alstrial.stats.mmrm.covariance import CovType
from alstrial.stats.mmrm.prepare import prepare
from alstrial.stats.mmrm.result import MMRMResult
from alstrial.stats.mmrm.spec import DfMethod, Method, MMRMSpec, VcovMethod
from alstrial.stats.mmrm.summary import COLUMNS, fit_prepared


class MMRM:
    """A mixed model for repeated measures; R's ``mmrm::mmrm``, SAS's PROC MIXED + REPEATED."""

    def __init__(self, spec: MMRMSpec) -> None:
        if not isinstance(spec, MMRMSpec):
            raise TypeError(f"MMRM expects an MMRMSpec (not {type(spec).__name__})")
        self.spec = spec

    def fit(self, data: pd.DataFrame) -> MMRMResult:
        spec = self.spec
        prepared = prepare(spec, data)
        s = fit_prepared(spec, prepared.core)
        names = list(s.terms)
        summary = pd.DataFrame(s.table, index=pd.Index(names, name="term"))[list(COLUMNS)]
        visits = list(s.visits)
        covariances = {g: pd.DataFrame(s.sigmas[i], index=visits, columns=visits) for i, g in enumerate(s.groups)}
        cov_parameters = pd.DataFrame(
            {"group": list(s.cov_parameter_groups), "estimate": s.cov_parameters, "std_error": s.cov_parameter_se},
            index=pd.Index(list(s.cov_parameter_names), name="parameter"),
        )
        return MMRMResult(
            spec=spec,
            summary=summary,
            cov_beta=pd.DataFrame(s.inference.cov_beta, index=names, columns=names),
            covariances=covariances,
            cov_parameters=cov_parameters,
            minus2_log_likelihood=s.minus2_log_likelihood,
            n_cov_parameters=s.n_cov_parameters,
            converged=s.converged,
            optimizer=s.optimizer,
            n_subjects=s.n_subjects,
            n_observations=s.n_observations,
            visits=s.visits,
            _inference=s.inference,
            _design=prepared.design,
            _frame=prepared.frame,
        )


def fit_mmrm(
    data: pd.DataFrame,
    *,
    response: str,
    subject: str,
    visit: str,
    fixed: str = "1",
    cov: CovType = "us",
    group: str | None = None,
    method: Method = "reml",
    df: DfMethod = "satterthwaite",
    vcov: VcovMethod = "model",
    ref: Mapping[str, str] | None = None,
    weights: str | None = None,
    visit_order: tuple[str, ...] | None = None,
    alpha: float = 0.05,
) -> MMRMResult:
    """Fit an MMRM in one call, e.g. ``fit_mmrm(fev, response="FEV1", subject="USUBJID",
    visit="AVISIT", fixed="RACE + SEX + ARMCD*AVISIT", cov="us")``."""
    spec = MMRMSpec(
        response=response,
        subject=subject,
        visit=visit,
        fixed=fixed,
        cov=cov,
        group=group,
        method=method,
        df=df,
        vcov=vcov,
        ref=dict(ref or {}),
        weights=weights,
        visit_order=visit_order,
        alpha=alpha,
    )
    return MMRM(spec).fit(data)

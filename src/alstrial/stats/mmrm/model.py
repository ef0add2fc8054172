"""``MMRM(spec).fit(data)`` and the one-call :func:`fit_mmrm`."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from alstrial.stats.mmrm.covariance import CovType, make_structure
from alstrial.stats.mmrm.fit import fit_arrays
from alstrial.stats.mmrm.prepare import prepare
from alstrial.stats.mmrm.result import MMRMResult
from alstrial.stats.mmrm.spec import DfMethod, Method, MMRMSpec, VcovMethod
from alstrial.stats.mmrm.tables import t_table
from alstrial.stats.mmrm.threads import single_blas_thread


class MMRM:
    """A mixed model for repeated measures; R's ``mmrm::mmrm``, SAS's PROC MIXED + REPEATED."""

    def __init__(self, spec: MMRMSpec) -> None:
        if not isinstance(spec, MMRMSpec):
            raise TypeError(f"MMRM expects an MMRMSpec (not {type(spec).__name__})")
        self.spec = spec

    def fit(self, data: pd.DataFrame) -> MMRMResult:
        spec = self.spec
        prepared = prepare(spec, data)
        structure = make_structure(spec.cov, len(prepared.visits))
        with single_blas_thread():
            outcome = fit_arrays(spec, prepared, structure)
        names = prepared.design.column_names
        k = len(names)
        inference = outcome.inference
        summary = t_table(inference.contrast_rows(np.eye(k)), pd.Index(names, name="term"), spec.alpha)
        covariances = {
            g: pd.DataFrame(outcome.sigmas[i], index=list(prepared.visits), columns=list(prepared.visits))
            for i, g in enumerate(prepared.groups)
        }
        q = structure.n_theta
        param_names, group_names = [], []
        for g in prepared.groups:
            for name in structure.natural_names():
                param_names.append(name)
                group_names.append(g)
        se = np.sqrt(np.clip(np.diag(outcome.natural_cov), 0, None))
        cov_parameters = pd.DataFrame(
            {"group": group_names, "estimate": outcome.natural.ravel(), "std_error": se},
            index=pd.Index(param_names, name="parameter"),
        )
        return MMRMResult(
            spec=spec,
            summary=summary,
            cov_beta=pd.DataFrame(inference.cov_beta, index=names, columns=names),
            covariances=covariances,
            cov_parameters=cov_parameters,
            minus2_log_likelihood=float(outcome.optim.value),
            n_cov_parameters=q * len(prepared.groups),
            converged=bool(outcome.optim.converged),
            optimizer=outcome.optim.optimizer,
            n_subjects=prepared.arrays.n_subjects,
            n_observations=prepared.arrays.n_obs,
            visits=prepared.visits,
            _inference=inference,
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

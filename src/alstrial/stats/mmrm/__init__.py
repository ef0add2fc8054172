"""Mixed models for repeated measures (MMRM), validated against SAS PROC MIXED and R.

``MMRM(MMRMSpec(...)).fit(df)`` or ``fit_mmrm(df, response=..., subject=..., visit=..., fixed=...)``
return an :class:`MMRMResult` with the coefficient table, covariance matrix, LS means, contrasts
and type III F tests; degrees of freedom by Satterthwaite, Kenward-Roger (SAS parameterisation),
KR-linear, residual or between-within.
"""

from __future__ import annotations

from alstrial.stats.mmrm.covariance import COV_TYPES
from alstrial.stats.mmrm.errors import (
    MMRMConvergenceWarning,
    MMRMDataError,
    MMRMError,
    MMRMSpecError,
    RankDeficientDesign,
)
from alstrial.stats.mmrm.lsmeans import LSMeans
from alstrial.stats.mmrm.model import MMRM, fit_mmrm
from alstrial.stats.mmrm.result import FTest, MMRMResult
from alstrial.stats.mmrm.spec import MMRMSpec

__all__ = [
    "COV_TYPES",
    "MMRM",
    "FTest",
    "LSMeans",
    "MMRMConvergenceWarning",
    "MMRMDataError",
    "MMRMError",
    "MMRMResult",
    "MMRMSpec",
    "MMRMSpecError",
    "RankDeficientDesign",
    "fit_mmrm",
]

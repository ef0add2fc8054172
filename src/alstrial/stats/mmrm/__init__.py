"""Mixed models for repeated measures (MMRM), validated against SAS PROC MIXED and R.

``MMRM(MMRMSpec(...)).fit(df)`` or ``fit_mmrm(df, response=..., subject=..., visit=..., fixed=...)``
return an :class:`MMRMResult` with the coefficient table, covariance matrix, LS means, contrasts
and type III F tests; degrees of freedom by Satterthwaite, Kenward-Roger (SAS parameterisation),
KR-linear, residual or between-within.

The DataFrame API (``MMRM``, ``fit_mmrm``, the result classes) is imported on first use, so that
the pandas-free engine (:mod:`.prepare_core`, :mod:`.summary`) can be used without importing pandas.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from alstrial.stats.mmrm.covariance import COV_TYPES
from alstrial.stats.mmrm.errors import (
    MMRMConvergenceWarning,
    MMRMDataError,
    MMRMError,
    MMRMSpecError,
    RankDeficientDesign,
)
from alstrial.stats.mmrm.spec import MMRMSpec

if TYPE_CHECKING:
    from alstrial.stats.mmrm.lsmeans import LSMeans
    from alstrial.stats.mmrm.model import MMRM, fit_mmrm
    from alstrial.stats.mmrm.result import FTest, MMRMResult

_LAZY = {
    "LSMeans": "alstrial.stats.mmrm.lsmeans",
    "MMRM": "alstrial.stats.mmrm.model",
    "fit_mmrm": "alstrial.stats.mmrm.model",
    "FTest": "alstrial.stats.mmrm.result",
    "MMRMResult": "alstrial.stats.mmrm.result",
}

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


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'alstrial.stats.mmrm' has no attribute {name!r}")

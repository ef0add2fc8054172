"""Statistical engines on plain DataFrames: MMRM, survival, responder, CAFS, biomarkers, imputation.

Names are imported on first use so that ``import alstrial.stats.<engine>`` (and the command
line) does not pay for every engine's dependencies.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "MMRM": "alstrial.stats.mmrm",
    "MMRMConvergenceWarning": "alstrial.stats.mmrm",
    "MMRMResult": "alstrial.stats.mmrm",
    "MMRMSpec": "alstrial.stats.mmrm",
    "fit_mmrm": "alstrial.stats.mmrm",
    "ChangeEndpointResult": "alstrial.stats.endpoints_change",
    "change_from_baseline_mmrm": "alstrial.stats.endpoints_change",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'alstrial.stats' has no attribute {name!r}")

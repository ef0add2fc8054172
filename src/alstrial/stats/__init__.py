"""Statistical engines on plain DataFrames: MMRM, survival, responder, CAFS, biomarkers, imputation."""

from alstrial.stats.endpoints_change import ChangeEndpointResult, change_from_baseline_mmrm
from alstrial.stats.mmrm import MMRM, MMRMConvergenceWarning, MMRMResult, MMRMSpec, fit_mmrm

__all__ = [
    "MMRM",
    "ChangeEndpointResult",
    "MMRMConvergenceWarning",
    "MMRMResult",
    "MMRMSpec",
    "change_from_baseline_mmrm",
    "fit_mmrm",
]

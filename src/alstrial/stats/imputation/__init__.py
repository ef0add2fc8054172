"""Missing-data sensitivity analyses: MI under MAR, jump-to-reference, Rubin's rules, tipping point.

The pipeline is impute → analyse each completed dataset → combine::

    imputed = impute_mvn(wide, arm="ARM", baseline="BASE", visits=[...], m=50, seed=1)
    result = analyse_imputed(imputed, ancova_analysis(visit="M6"))       # Rubin-combined
    tipping = tipping_point(imputed, ancova_analysis(visit="M6"), deltas=np.arange(0, -6, -0.5))
"""

from __future__ import annotations

from alstrial.stats.imputation.analysis import AnalysisEstimate, ancova_analysis
from alstrial.stats.imputation.mi_mar import ImputedData, MIResult, analyse_imputed, impute_mvn
from alstrial.stats.imputation.rubin import RubinResult, rubin_combine
from alstrial.stats.imputation.tipping_point import TippingPointResult, tipping_point

__all__ = [
    "AnalysisEstimate",
    "ImputedData",
    "MIResult",
    "RubinResult",
    "TippingPointResult",
    "analyse_imputed",
    "ancova_analysis",
    "impute_mvn",
    "rubin_combine",
    "tipping_point",
]

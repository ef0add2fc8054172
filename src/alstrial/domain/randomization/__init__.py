"""Randomization rules: stratified permuted blocks, kit codes, minimization, balance.

Pure domain code (no database, no web): the capture services consume an
:class:`AllocationList` entry by entry, or ask a :class:`Minimizer` for an arm.
"""

from __future__ import annotations

from alstrial.domain.randomization.allocation_list import COLUMNS, AllocationEntry, AllocationList
from alstrial.domain.randomization.arms import ArmRatios
from alstrial.domain.randomization.balance import BalanceReport, BalanceRow, balance_report
from alstrial.domain.randomization.blocks import MAX_PER_STRATUM, generate_block_list
from alstrial.domain.randomization.errors import (
    AllocationListExhausted,
    InvalidRandomizationSpec,
    RandomizationError,
    UnknownStratum,
)
from alstrial.domain.randomization.kit_codes import KIT_ALPHABET, KIT_PREFIX, is_kit_code
from alstrial.domain.randomization.minimization import ImbalanceMeasure, MinimizationDecision, Minimizer
from alstrial.domain.randomization.strata import UNSTRATIFIED, all_strata, parse_stratum_key, stratum_key

__all__ = [
    "COLUMNS",
    "KIT_ALPHABET",
    "KIT_PREFIX",
    "MAX_PER_STRATUM",
    "UNSTRATIFIED",
    "AllocationEntry",
    "AllocationList",
    "AllocationListExhausted",
    "ArmRatios",
    "BalanceReport",
    "BalanceRow",
    "ImbalanceMeasure",
    "InvalidRandomizationSpec",
    "MinimizationDecision",
    "Minimizer",
    "RandomizationError",
    "UnknownStratum",
    "all_strata",
    "balance_report",
    "generate_block_list",
    "is_kit_code",
    "parse_stratum_key",
    "stratum_key",
]

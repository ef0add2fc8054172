"""The validated, immutable description of an MMRM: what to fit and how to do inference."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from alstrial.stats.mmrm.covariance import COV_TYPES, CovType
from alstrial.stats.mmrm.errors import MMRMSpecError
from alstrial.stats.mmrm.formula import parse_formula

Method = Literal["reml", "ml"]
DfMethod = Literal["satterthwaite", "kenward-roger", "kenward-roger-linear", "residual", "between-within"]
VcovMethod = Literal["model", "empirical"]
METHODS: tuple[str, ...] = ("reml", "ml")
DF_METHODS: tuple[str, ...] = (
    "satterthwaite",
    "kenward-roger",
    "kenward-roger-linear",
    "residual",
    "between-within",
)
VCOV_METHODS: tuple[str, ...] = ("model", "empirical")


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        options = ", ".join(repr(a) for a in allowed)
        raise MMRMSpecError(f"invalid value for {name}, expected one of {options} (not {value!r})")


@dataclass(frozen=True)
class MMRMSpec:
    """An MMRM specification, like R's ``mmrm(formula, control)`` or SAS's MODEL/REPEATED statements.

    ``fixed`` is an R-style right-hand side (``"RACE + SEX + ARMCD*AVISIT"``); ``ref`` overrides
    reference levels (``{"RACE": "Asian"}``); ``group`` fits a separate covariance per level
    (SAS ``REPEATED / GROUP=``); ``weights`` names a column of SAS-style ``WEIGHT`` values.
    """

    response: str
    subject: str
    visit: str
    fixed: str = "1"
    cov: CovType = "us"
    group: str | None = None
    method: Method = "reml"
    df: DfMethod = "satterthwaite"
    vcov: VcovMethod = "model"
    ref: Mapping[str, str] = field(default_factory=dict)
    weights: str | None = None
    visit_order: tuple[str, ...] | None = None
    alpha: float = 0.05

    def __post_init__(self) -> None:
        for name in ("response", "subject", "visit"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise MMRMSpecError(f"{name} must be a column name (not {value!r})")
        _choice("cov", self.cov, COV_TYPES)
        _choice("method", self.method, METHODS)
        _choice("df", self.df, DF_METHODS)
        _choice("vcov", self.vcov, VCOV_METHODS)
        if self.df.startswith("kenward") and self.method != "reml":
            raise MMRMSpecError(f"df={self.df!r} requires method='reml' (not {self.method!r})")
        if self.vcov == "empirical" and self.df not in ("residual", "between-within"):
            raise MMRMSpecError(f"vcov='empirical' supports df 'residual' or 'between-within' (not {self.df!r})")
        if not 0 < self.alpha < 1:
            raise MMRMSpecError(f"alpha must be in (0, 1) (not {self.alpha!r})")
        if not isinstance(self.ref, Mapping):
            raise MMRMSpecError(f"ref must map column names to reference levels (not {self.ref!r})")
        object.__setattr__(self, "ref", {str(k): str(v) for k, v in self.ref.items()})
        if self.visit_order is not None:
            object.__setattr__(self, "visit_order", tuple(str(v) for v in self.visit_order))
        parse_formula(self.fixed)  # fail early on a malformed formula

    def to_dict(self) -> dict[str, Any]:
        return {
            "response": self.response,
            "subject": self.subject,
            "visit": self.visit,
            "fixed": self.fixed,
            "cov": self.cov,
            "group": self.group,
            "method": self.method,
            "df": self.df,
            "vcov": self.vcov,
            "ref": dict(self.ref),
            "weights": self.weights,
            "visit_order": list(self.visit_order) if self.visit_order else None,
            "alpha": self.alpha,
        }

"""Pydantic models of a trial protocol: the whole design as validated, immutable data.

Every number a clinician might want to change (ages, thresholds, windows, doses, endpoints) lives
here and in the TOML file, never in code. Cross-references between sections (a visit naming an
assessment, a criterion naming a screening field) are checked in ``crossref.py`` so that a broken
file reports every problem at once.
"""

from __future__ import annotations

import math
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from alstrial.protocol.simulation import SimulationParams

Code = str  # short identifiers: letters, digits, underscore, dash; see _CODE_PATTERN
_CODE_PATTERN = r"^[A-Za-z][A-Za-z0-9_\-]{0,31}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_as_number(cls, value: object, info: ValidationInfo) -> object:
        # pydantic's lax mode reads ``ratio = true`` as 1; a protocol must say the number it means
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and not _admits_bool(field.annotation):
            if isinstance(value, bool):
                raise ValueError("expected a number or text, not true/false")
            if isinstance(value, list) and (flags := [i for i, v in enumerate(value) if isinstance(v, bool)]):
                raise ValueError(f"item {flags[0]}: expected a number or text, not true/false")
        return value


def _admits_bool(annotation: object) -> bool:
    if annotation is bool or annotation is Any:
        return True
    return any(_admits_bool(arg) for arg in get_args(annotation)) if get_origin(annotation) is not None else False


def _finite_parameters(value: object, where: str = "parameters") -> None:
    """Free-form endpoint parameters still hold finite numbers only (TOML allows ``nan`` and ``inf``)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}: {value!r} is not a finite number")
    if isinstance(value, dict):
        for k, v in value.items():
            _finite_parameters(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _finite_parameters(v, f"{where}[{i}]")


class Arm(_Model):
    """A treatment arm; ``ratio`` is its integer share of the allocation (1:1 → both 1)."""

    code: str = Field(pattern=_CODE_PATTERN)
    name: str = Field(min_length=1)
    ratio: int = Field(ge=1, le=20)
    is_control: bool = False
    description: str = ""


class Site(_Model):
    """A recruiting site; users of site roles see only their own site's participants."""

    code: str = Field(pattern=_CODE_PATTERN)
    name: str = Field(min_length=1)
    country: str = Field(default="US", min_length=2, max_length=3)


def describe_range(lowest: float | None, highest: float | None) -> str:
    """``0 to 120``, ``at least 0`` or ``at most 48``: a field's range as a message says it."""
    if lowest is not None and highest is not None:
        return f"{lowest:g} to {highest:g}"
    return f"at least {lowest:g}" if lowest is not None else f"at most {highest:g}"


class ScreeningField(_Model):
    """A value collected at screening that eligibility criteria and strata can refer to.

    A numeric field may declare the range a real value can take (``min``/``max``, inclusive, like
    REDCap's validation min/max): a value outside it is a typo and is refused at entry instead of
    being evaluated, so an age of 250 is not recorded as a screen failure on the age criterion.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    label: str = Field(min_length=1)
    type: Literal["integer", "number", "boolean", "category"]
    unit: str = ""
    levels: list[str] = Field(default_factory=list)
    min: float | None = None
    max: float | None = None


class EligibilityCriterion(_Model):
    """One inclusion or exclusion criterion, evaluated on a screening field.

    Inclusion criteria must be *met*; exclusion criteria must *not* be met. Rules:
    ``between`` (``min``/``max`` inclusive, either may be omitted), ``in`` (``values``),
    ``is_true`` and ``is_false`` (boolean fields).
    """

    id: str = Field(pattern=_CODE_PATTERN)
    kind: Literal["inclusion", "exclusion"]
    text: str = Field(min_length=1)
    field: str
    rule: Literal["between", "in", "is_true", "is_false"]
    min: float | None = None
    max: float | None = None
    values: list[str] = Field(default_factory=list)


class StratificationFactor(_Model):
    """A randomization stratum factor.

    ``source = "site"`` takes the site code (levels default to the protocol's sites);
    ``source = "screening"`` takes a screening field: a category field maps directly to
    ``levels``, a numeric field is cut at ``cutpoints`` (level i covers values in
    [cutpoints[i-1], cutpoints[i])), so ``levels`` has one more entry than ``cutpoints``.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    label: str = ""
    source: Literal["site", "screening"]
    field: str | None = None
    levels: list[str] = Field(default_factory=list)
    cutpoints: list[float] = Field(default_factory=list)


class Randomization(_Model):
    """How allocation lists are made; lists are concealed from every blinded role."""

    method: Literal["permuted_block", "minimization"] = "permuted_block"
    block_multiples: list[int] = Field(default_factory=lambda: [1, 2, 3], min_length=1)
    per_stratum: int = Field(default=60, ge=1, le=100_000)
    minimization_probability: float = Field(default=0.8, gt=0.5, le=1.0)

    @field_validator("block_multiples")
    @classmethod
    def _positive_unique(cls, v: list[int]) -> list[int]:
        if any(m < 1 or m > 100 for m in v):
            raise ValueError(f"block multiples must be integers from 1 to 100 (not {v!r})")
        if len(set(v)) != len(v):
            raise ValueError(f"block multiples must be distinct (not {v!r})")
        return sorted(v)


class Assessment(_Model):
    """Something measured or done at a visit (an instrument, a sample, a procedure)."""

    code: str = Field(pattern=_CODE_PATTERN)
    name: str = Field(min_length=1)
    kind: Literal["instrument", "measurement", "sample", "procedure", "dose"]


class Visit(_Model):
    """A scheduled visit; ``day`` is relative to the first dose (day 0).

    A visit date outside [day - window_before, day + window_after] is accepted only with a
    reason and is flagged as a protocol deviation.
    """

    code: str = Field(pattern=_CODE_PATTERN)
    name: str = Field(min_length=1)
    day: int = Field(ge=-365, le=3650)
    window_before: int = Field(default=0, ge=0, le=365)
    window_after: int = Field(default=0, ge=0, le=365)
    assessments: list[str] = Field(default_factory=list)
    phase: Literal["screening", "run_in", "treatment", "follow_up"] = "treatment"


class Dose(_Model):
    """One scheduled administration of the investigational product (or placebo)."""

    number: int = Field(ge=1)
    visit: str


class Dosing(_Model):
    """The dosing regimen; both arms follow identical procedures to keep the blind."""

    product: str = Field(min_length=1)
    placebo: str = Field(min_length=1)
    route: str = Field(min_length=1)
    amount: str = Field(min_length=1, description="dose as labelled, e.g. '100-125 x 10^6 cells'")
    autologous: bool = True
    source_procedure_visit: str | None = Field(
        default=None, description="visit of the tissue collection (bone-marrow aspiration) for autologous products"
    )
    doses: list[Dose] = Field(min_length=1)


class Analyte(_Model):
    """A laboratory analyte of the CSF/blood catalogue, with its unit and conversions.

    ``conversions`` maps another unit to the factor that turns a value in that unit into the
    analyte's standard ``unit`` (e.g. ``"ng/mL" = 1000.0`` for a pg/mL analyte).
    """

    code: str = Field(pattern=_CODE_PATTERN)
    name: str = Field(min_length=1)
    cdisc_testcd: str = Field(pattern=r"^[A-Z][A-Z0-9]{0,7}$")
    specimen: str = "CEREBROSPINAL FLUID"
    unit: str = Field(min_length=1)
    lloq: float = Field(gt=0)
    expected_direction: Literal["up", "down", "none"] = "none"
    conversions: dict[str, float] = Field(default_factory=dict)

    @field_validator("conversions")
    @classmethod
    def _positive_factors(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {unit: f for unit, f in v.items() if not f > 0}
        if bad:
            raise ValueError(f"conversion factors must be > 0 (not {bad!r})")
        return v


class Endpoint(_Model):
    """An endpoint of the analysis plan and the method that analyses it."""

    id: str = Field(pattern=_CODE_PATTERN)
    kind: Literal["primary", "secondary", "exploratory", "safety"]
    name: str = Field(min_length=1)
    method: Literal["responder", "mmrm_change", "cafs", "survival", "biomarker", "slope", "safety"]
    visit: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)

    @field_validator("parameters")
    @classmethod
    def _finite(cls, v: dict[str, Any]) -> dict[str, Any]:
        _finite_parameters(v)
        return v


#: Intercurrent events the capture services record (``rescue_medication``: the first dose of an ALS
#: drug the protocol excludes, recorded as an intercurrent event with the drug's name).
IntercurrentEventKind = Literal[
    "treatment_discontinuation",
    "death",
    "permanent_assisted_ventilation",
    "tracheostomy",
    "gastrostomy",
    "niv_start",
    "rescue_medication",
]
#: ICH E9(R1) strategies for intercurrent events.
Strategy = Literal["treatment_policy", "hypothetical", "composite", "while_on_treatment", "principal_stratum"]
#: Missing-data sensitivity analyses of a continuous estimand (multiple imputation, tipping point).
SensitivityMethod = Literal[
    "mi_mar", "mi_jump_to_reference", "mi_copy_reference", "mi_copy_increments_in_reference", "tipping_point"
]


class IntercurrentEventHandling(_Model):
    """How one intercurrent event is handled: the ICH E9(R1) strategy and why."""

    event: IntercurrentEventKind
    strategy: Strategy
    rationale: str = ""


class Estimand(_Model):
    """An estimand in ICH E9(R1) terms, attached to the endpoint whose analysis estimates it."""

    id: str = Field(pattern=_CODE_PATTERN)
    endpoint: str
    label: str = Field(min_length=1)
    population: str = Field(min_length=1)
    variable: str = Field(min_length=1)
    treatment: str = "randomized treatment versus control"
    intercurrent_events: list[IntercurrentEventHandling] = Field(default_factory=list)
    summary: str = Field(min_length=1, description="population-level summary, e.g. difference in means")
    sensitivity: list[SensitivityMethod] = Field(default_factory=list)


class Subgroup(_Model):
    """A prespecified subgroup: a baseline variable, split at ``cutpoint`` when numeric."""

    id: str = Field(pattern=_CODE_PATTERN)
    label: str = Field(min_length=1)
    variable: Literal["baseline_alsfrs_r", "onset_region", "sex", "age", "riluzole"]
    cutpoint: float | None = None


class AnalysisOptions(_Model):
    """Settings of the analysis plan shared by several analyses."""

    imputations: int = Field(default=20, ge=2, le=1000)
    tipping_deltas: list[float] = Field(default_factory=lambda: [0.0, -1.0, -2.0, -3.0, -4.0, -5.0, -6.0, -8.0])
    baseline_thresholds: list[float] = Field(default_factory=lambda: [26.0, 28.0, 30.0, 32.0, 34.0])
    alpha: float = Field(default=0.05, gt=0, lt=1)


class Protocol(_Model):
    """A complete trial design."""

    id: str = Field(pattern=_CODE_PATTERN)
    title: str = Field(min_length=1)
    phase: str = "3"
    registry_id: str = ""
    sample_size: int = Field(ge=2, le=1_000_000)
    arms: list[Arm] = Field(min_length=2)
    sites: list[Site] = Field(min_length=1)
    screening_fields: list[ScreeningField] = Field(min_length=1)
    eligibility: list[EligibilityCriterion] = Field(default_factory=list)
    strata: list[StratificationFactor] = Field(default_factory=list)
    randomization: Randomization = Field(default_factory=Randomization)
    assessments: list[Assessment] = Field(min_length=1)
    visits: list[Visit] = Field(min_length=1)
    dosing: Dosing
    analytes: list[Analyte] = Field(default_factory=list)
    endpoints: list[Endpoint] = Field(default_factory=list)
    estimands: list[Estimand] = Field(default_factory=list)
    subgroups: list[Subgroup] = Field(default_factory=list)
    analysis: AnalysisOptions = Field(default_factory=AnalysisOptions)
    simulation: SimulationParams = Field(default_factory=SimulationParams)

    # -- convenience lookups used by the layers above ------------------------------------
    def arm(self, code: str) -> Arm:
        return _lookup(self.arms, code, "arm")

    def visit(self, code: str) -> Visit:
        return _lookup(self.visits, code, "visit")

    def site(self, code: str) -> Site:
        return _lookup(self.sites, code, "site")

    def analyte(self, code: str) -> Analyte:
        return _lookup(self.analytes, code, "analyte")

    def screening_field(self, name: str) -> ScreeningField:
        for f in self.screening_fields:
            if f.name == name:
                return f
        raise KeyError(f"unknown screening field {name!r}; expected one of {[f.name for f in self.screening_fields]}")

    def strata_levels(self) -> list[tuple[str, list[str]]]:
        """Each stratum factor with its levels, in protocol order (site levels from the sites)."""
        return [(s.name, list(s.levels) or [site.code for site in self.sites]) for s in self.strata]

    def dose_visits(self) -> list[Visit]:
        return [self.visit(d.visit) for d in sorted(self.dosing.doses, key=lambda d: d.number)]

    def primary_endpoint(self) -> Endpoint | None:
        return next((e for e in self.endpoints if e.kind == "primary"), None)

    def endpoint(self, endpoint_id: str) -> Endpoint:
        for e in self.endpoints:
            if e.id == endpoint_id:
                return e
        raise KeyError(f"unknown endpoint {endpoint_id!r}; expected one of {[e.id for e in self.endpoints]}")

    def estimand_for(self, endpoint_id: str) -> Estimand | None:
        """The (first) estimand the endpoint's analysis estimates, if the plan names one."""
        return next((e for e in self.estimands if e.endpoint == endpoint_id), None)


def _lookup(items: list[Any], code: str, what: str) -> Any:
    for item in items:
        if item.code == code:
            return item
    raise KeyError(f"unknown {what} {code!r}; expected one of {[i.code for i in items]}")

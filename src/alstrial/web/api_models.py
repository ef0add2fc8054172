"""Request and response models of the JSON API; enumerations come from the domain and policy modules,
so the OpenAPI document lists the allowed values of every choice field."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from alstrial.domain.fields import ACTIONS, OUTCOMES, RELATEDNESS, SEVERITIES, TERM_LENGTH, TEXT_LENGTH
from alstrial.services.corrections import CORRECTABLE, QUERY_STATUSES
from alstrial.services.disposition import DECIDERS, REASON_CODES
from alstrial.services.policy import ROLES
from alstrial.services.reads import PARTICIPANT_STATUSES
from alstrial.services.safety import INTERCURRENT_KINDS, SAE_CRITERIA
from alstrial.services.signatures import KINDS as SIGNATURE_KINDS
from alstrial.services.signatures import MEANINGS

# Literal[...] of a runtime tuple: pydantic and the OpenAPI document see the values; mypy sees str.
RoleName = Literal[ROLES]  # type: ignore[valid-type]
Severity = Literal[SEVERITIES]  # type: ignore[valid-type]
Relatedness = Literal[RELATEDNESS]  # type: ignore[valid-type]
ActionTaken = Literal[ACTIONS]  # type: ignore[valid-type]
Outcome = Literal[OUTCOMES]  # type: ignore[valid-type]
SaeCriterion = Literal[SAE_CRITERIA]  # type: ignore[valid-type]
IntercurrentKind = Literal[INTERCURRENT_KINDS]  # type: ignore[valid-type]
ReasonCode = Literal[REASON_CODES]  # type: ignore[valid-type]
Decider = Literal[DECIDERS]  # type: ignore[valid-type]
ENTITIES: tuple[str, ...] = tuple(sorted(CORRECTABLE))
Entity = Literal[ENTITIES]  # type: ignore[valid-type]
QueryStatus = Literal[QUERY_STATUSES]  # type: ignore[valid-type]
ParticipantStatus = Literal[PARTICIPANT_STATUSES]  # type: ignore[valid-type]
AlsfrsValue = int | None
RequestKey = Field(
    default=None,
    min_length=1,
    max_length=128,
    description="any unique text per intended write: a retry with the same key returns the first result",
)
Code = Field(min_length=1, max_length=64)
Text = Field(min_length=1, max_length=TEXT_LENGTH)


#: record ids are 64-bit integers in both databases; larger numbers are refused here, not by the driver
MAX_ID = 2**63 - 1
RecordId = Annotated[int, Field(ge=1, le=MAX_ID, description="a record id")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


# --------------------------------------------------------------------------- errors and tokens
class ProblemOut(BaseModel):
    where: str
    value: Any = None
    reason: str


class ErrorDetail(BaseModel):
    kind: str = Field(description="invalid, not_found, forbidden, unauthenticated, conflict, locked, busy, internal")
    type: str
    message: str
    problems: list[ProblemOut] | None = None
    current_version: int | None = None
    changed_by: str | None = None
    changed_at: str | None = None
    failed_criteria: list[str] | None = None


class ErrorOut(BaseModel):
    error: ErrorDetail


class TokenIn(_In):
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds")
    username: str
    role: RoleName
    site: str | None


class MeOut(BaseModel):
    username: str
    role: RoleName
    site: str | None


# --------------------------------------------------------------------------- admin
class SiteIn(_In):
    code: str = Field(min_length=1, max_length=16)
    name: str = Field(min_length=1, max_length=200)
    country: str = Field(default="US", min_length=2, max_length=3)


class SiteOut(BaseModel):
    code: str
    name: str
    country: str
    active: bool


class UserIn(_In):
    username: str = Field(min_length=1, max_length=64)
    role: RoleName
    password: str = Field(min_length=1, max_length=1000)
    full_name: str = Field(default="", max_length=200)
    site: str | None = Field(default=None, max_length=16)


class UserOut(BaseModel):
    username: str
    full_name: str
    role: RoleName
    site: str | None
    active: bool
    locked_until: datetime | None = None
    failed_sign_ins: int = 0


class ReasonIn(_In):
    reason: str = Text


Meaning = Literal[MEANINGS]  # type: ignore[valid-type]
SignatureKind = Literal[SIGNATURE_KINDS]  # type: ignore[valid-type]


class SignedIn(_In):
    """A step signed electronically: the reason, the signer's password re-entered, and what the signature means."""

    reason: str = Text
    password: str = Field(min_length=1, max_length=1000, description="the signer's own password, re-entered")
    meaning: Meaning | None = Field(default=None, description="the meaning of the signature (default per step)")


class CasebookSignIn(_In):
    """An investigator signs a casebook (a participant's whole casebook, or one visit of it)."""

    password: str = Field(min_length=1, max_length=1000, description="the signer's own password, re-entered")
    meaning: Meaning = Field(description="what the signature means: authorship, review, approval or responsibility")
    visit: str | None = Field(default=None, min_length=1, max_length=16, description="one visit only (code)")
    request_key: str | None = RequestKey


class SignatureOut(BaseModel):
    """A signature's manifestation (who, printed name, role, when, meaning, what) and whether it still holds."""

    id: int
    kind: SignatureKind
    target: str
    participant: str | None
    visit: str | None
    meaning: Meaning
    username: str
    printed_name: str
    role: RoleName
    signed_at: datetime
    content_sha256: str
    manifest_sha256: str
    valid: bool
    status: Literal["valid", "broken"]
    problems: list[str]


class CasebookStatusOut(BaseModel):
    participant: str
    visit: str | None
    state: Literal["unsigned", "signed", "broken"]
    content_sha256: str = Field(description="SHA-256 of the casebook as it is now")
    signatures: list[SignatureOut]


class PasswordIn(_In):
    """A new password: your own (re-enter the current one), or anyone's as an admin (a reset)."""

    new_password: str = Field(min_length=1, max_length=1000)
    current_password: str | None = Field(default=None, max_length=1000, description="required for your own")


class LockIn(SignedIn):
    override_reason: str | None = Field(
        default=None,
        max_length=TEXT_LENGTH,
        description="admin only: lock although queries are open or casebooks unsigned, with this reason",
    )


# --------------------------------------------------------------------------- participants
class ScreeningIn(_In):
    screened_on: date
    consent_date: date
    values: dict[str, bool | int | float | str | None] = Field(
        description="screening fields of the protocol (GET /api/v1/protocol/screening-fields), by name"
    )
    site: str | None = Field(default=None, max_length=16, description="study-wide roles name the site")
    request_key: str | None = RequestKey


class ScreeningOut(BaseModel):
    participant: str
    site: str
    eligible: bool
    failed_criteria: list[str]
    coi_id: str | None = None
    pending_criteria: list[str] = []


class EnrolIn(_In):
    enrolled_on: date


class ParticipantOut(BaseModel):
    code: str
    site: str
    status: ParticipantStatus
    eligible: bool
    screened_on: date
    enrolled_on: date | None
    stratum: str | None
    kit_code: str | None
    randomized_at: datetime | None
    day0: date | None
    treatment_discontinued: bool
    withdrawn: bool
    arm: str | None = Field(default=None, description="only for roles that may see arms")


class EligibilityOut(BaseModel):
    criterion: str
    kind: str
    text: str
    value: Any = None
    outcome: Any = None
    passed: bool | None


class VisitOut(BaseModel):
    visit: str
    visit_record_id: int
    visit_record_version: int
    visit_date: date
    study_day: int | None
    in_window: bool | None
    deviation_days: int | None
    out_of_window_reason: str | None
    alsfrs_r_id: int | None
    alsfrs_r_version: int | None
    alsfrs_r_total: int | None
    alsfrs_r_items: dict[str, int | None] | None
    vital_capacity_id: int | None
    vital_capacity_version: int | None
    vital_capacity_pct: float | None
    weight_id: int | None
    weight_version: int | None
    weight_kg: float | None


class ParticipantDetailOut(BaseModel):
    participant: ParticipantOut
    eligibility: list[EligibilityOut]
    visits: list[VisitOut]


class RunInOut(BaseModel):
    participant: str
    decline: int | None
    eligible: bool
    failed_criteria: list[str]


class RandomizationOut(BaseModel):
    participant: str
    kit_code: str
    stratum: str
    randomized_at: datetime
    runin_decline: int | None = None


class ArmOut(BaseModel):
    participant: str
    arm: str


# --------------------------------------------------------------------------- visits
class VisitIn(_In):
    visit: str = Field(min_length=1, max_length=16, description="a visit code of the protocol (GET /api/v1/protocol)")
    visit_date: date
    out_of_window_reason: str | None = Field(default=None, max_length=TEXT_LENGTH)
    request_key: str | None = RequestKey


class VisitResultOut(BaseModel):
    participant: str
    visit: str
    visit_date: date
    study_day: int | None
    in_window: bool
    deviation_days: int
    out_of_window_reason: str | None


class AlsfrsIn(_In):
    q1: AlsfrsValue = Field(default=None, ge=0, le=4)
    q2: AlsfrsValue = Field(default=None, ge=0, le=4)
    q3: AlsfrsValue = Field(default=None, ge=0, le=4)
    q4: AlsfrsValue = Field(default=None, ge=0, le=4)
    q5a: AlsfrsValue = Field(default=None, ge=0, le=4, description="without gastrostomy (exactly one of 5a/5b)")
    q5b: AlsfrsValue = Field(default=None, ge=0, le=4, description="with gastrostomy (exactly one of 5a/5b)")
    q6: AlsfrsValue = Field(default=None, ge=0, le=4)
    q7: AlsfrsValue = Field(default=None, ge=0, le=4)
    q8: AlsfrsValue = Field(default=None, ge=0, le=4)
    q9: AlsfrsValue = Field(default=None, ge=0, le=4)
    q10: AlsfrsValue = Field(default=None, ge=0, le=4)
    q11: AlsfrsValue = Field(default=None, ge=0, le=4)
    q12: AlsfrsValue = Field(default=None, ge=0, le=4)
    assessed_on: date | None = None
    request_key: str | None = RequestKey


class AlsfrsScoreOut(BaseModel):
    total: int
    bulbar: int
    fine_motor: int
    gross_motor: int
    respiratory: int
    motor: int
    gastrostomy: bool
    kings_stage: str
    mitos_stage: int


class AlsfrsOut(BaseModel):
    participant: str
    visit: str
    score: AlsfrsScoreOut


class VitalCapacityIn(_In):
    percent_predicted: float = Field(ge=0, le=250)
    liters: float | None = Field(default=None, ge=0, le=10)
    test: Literal["SVC", "FVC"] = "SVC"
    position: Literal["upright", "supine"] = "upright"
    request_key: str | None = RequestKey


class WeightIn(_In):
    weight_kg: float = Field(ge=20, le=300)
    request_key: str | None = RequestKey


class CreatedOut(BaseModel):
    id: int


# --------------------------------------------------------------------------- labs and product
class CsfSampleIn(_In):
    visit: str = Field(min_length=1, max_length=16)
    sample_id: str = Field(min_length=1, max_length=64)
    collected_at: AwareDatetime
    request_key: str | None = RequestKey


class SampleOut(BaseModel):
    sample_id: str


class LabResultIn(_In):
    analyte: str = Field(min_length=1, max_length=32)
    value: float | None = None
    unit: str = Field(min_length=1, max_length=32)
    below_lloq: bool | None = None


class LabResultsIn(_In):
    sample_id: str = Field(min_length=1, max_length=64)
    assay: str = Field(min_length=1, max_length=100)
    results: list[LabResultIn] = Field(min_length=1, max_length=50)
    request_key: str | None = RequestKey


class LabResultOut(BaseModel):
    sample_id: str
    analyte: str
    value_original: float | None
    unit_original: str
    value_std: float | None
    unit_std: str
    below_lloq: bool
    assay: str


class AspirationIn(_In):
    aspirated_at: AwareDatetime
    volume_ml: float = Field(gt=0, le=1000)
    request_key: str | None = RequestKey


class LotIn(_In):
    aspiration_id: RecordId
    dose_number: int = Field(ge=1, le=20)
    manufactured_on: date
    expires_on: date
    request_key: str | None = RequestKey


class LotOut(BaseModel):
    lot_number: str
    coi_id: str
    dose_number: int
    manufactured_on: date
    expires_on: date
    labelled_amount: str
    status: str


class DoseIn(_In):
    lot_number: str = Field(min_length=1, max_length=64)
    label_coi_id: str = Field(min_length=1, max_length=64, description="typed or scanned from the product label")
    administered_at: AwareDatetime
    dose_number: int = Field(ge=1, le=20)
    request_key: str | None = RequestKey


# --------------------------------------------------------------------------- safety and disposition
class AdverseEventIn(_In):
    term: str = Field(min_length=1, max_length=TERM_LENGTH)
    onset_date: date
    severity: Severity
    relatedness: Relatedness
    action_taken: ActionTaken
    outcome: Outcome
    serious: bool = False
    criteria: list[SaeCriterion] = Field(default_factory=list)
    resolution_date: date | None = None
    request_key: str | None = RequestKey


class IntercurrentEventIn(_In):
    kind: IntercurrentKind
    event_date: date
    hours_per_day: float | None = Field(default=None, ge=0, le=24)
    consecutive_days: int | None = Field(default=None, ge=0, le=100000)
    details: str | None = Field(default=None, max_length=TEXT_LENGTH)
    request_key: str | None = RequestKey


class DiscontinuationIn(_In):
    on: date
    reason_code: ReasonCode
    decided_by: Decider
    assessments_continue: bool = True
    vital_status_followup: bool = True
    reason_text: str | None = Field(default=None, max_length=TEXT_LENGTH)
    request_key: str | None = RequestKey


class WithdrawalIn(_In):
    on: date
    reason_code: ReasonCode
    decided_by: Decider
    vital_status_followup: bool = False
    reason_text: str | None = Field(default=None, max_length=TEXT_LENGTH)
    request_key: str | None = RequestKey


# --------------------------------------------------------------------------- corrections and queries
class CorrectionIn(_In):
    entity: Entity
    entity_id: RecordId
    field: str = Field(min_length=1, max_length=64)
    new_value: bool | int | float | str | None
    reason: str = Text
    version: int = Field(ge=1, description="the version you read; a newer one answers 409")


class CorrectionOut(BaseModel):
    entity: str
    entity_id: int
    field: str
    old: Any
    new: Any
    version: int


class QueryIn(_In):
    entity: Entity
    entity_id: RecordId
    field: str = Field(min_length=1, max_length=64)
    text: str = Text
    request_key: str | None = RequestKey


class AnswerIn(_In):
    answer: str = Text


class CloseIn(_In):
    note: str = Field(default="", max_length=TEXT_LENGTH)


class QueryOut(BaseModel):
    id: int
    participant: str
    entity: str
    entity_id: int
    field: str
    text: str
    status: QueryStatus
    answer: str | None
    opened_at: datetime
    version: int


class AuditLineOut(BaseModel):
    seq: int
    at: datetime
    username: str
    role: str
    action: str
    entity: str
    entity_id: str
    participant: str | None
    changes: dict[str, Any]
    reason: str | None


class LockOut(BaseModel):
    at: datetime | None = None


class EmergencyUnblindingOut(BaseModel):
    participant: str
    arm: str
    at: datetime
    reason: str


class UnblindingOut(BaseModel):
    kind: str
    participant: str | None
    at: datetime
    by: str
    reason: str


class AllocationRowOut(BaseModel):
    stratum: str
    sequence: int
    block: int
    block_size: int
    arm: str
    kit_code: str
    participant: str | None


class ScreeningFieldOut(BaseModel):
    name: str
    label: str
    type: str
    unit: str
    levels: list[str]


class ProtocolVisitOut(BaseModel):
    code: str
    name: str
    day: int
    window_before: int
    window_after: int
    assessments: list[str]
    phase: str

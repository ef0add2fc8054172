"""CSF samples and analyte results, converted into the catalogue's standard unit (original kept)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select

from alstrial.errors import Problem, ValidationFailed
from alstrial.services import policy
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB, Tx, transaction
from alstrial.services.exceptions import InvalidState, NotFound
from alstrial.services.visits import visit_record
from alstrial.store.models import CsfSample, LabResult, Participant


@dataclass(frozen=True)
class LabResultView:
    sample_id: str
    analyte: str
    value_original: float | None
    unit_original: str
    value_std: float | None
    unit_std: str
    below_lloq: bool
    assay: str

    def __str__(self) -> str:
        flag = " (<LLOQ)" if self.below_lloq else ""
        return f"{self.sample_id} {self.analyte}: {self.value_std} {self.unit_std}{flag}"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def record_csf_sample(
    db: CaptureDB, actor: Actor, code: str, *, visit: str, sample_id: str, collected_at: datetime
) -> str:
    with transaction(db, actor, policy.Permission.RECORD_LAB) as tx:
        return _record_sample(tx, code, visit, sample_id, collected_at)


def _record_sample(tx: Tx, code: str, visit: str, sample_id: str, collected_at: datetime) -> str:
    problems = []
    if not sample_id or not str(sample_id).strip():
        problems.append(Problem("sample_id", sample_id, "required"))
    if not isinstance(collected_at, datetime) or collected_at.tzinfo is None:
        problems.append(Problem("collected_at", collected_at, "expected a date-time with a time zone (e.g. ...Z)"))
    if problems:
        raise ValidationFailed(problems, context="CSF sample")
    p = tx.participant(code)
    visit_record(tx, p, visit)
    if "csf" not in tx.protocol.visit(visit).assessments:
        raise ValidationFailed([Problem("visit", visit, "the schedule has no CSF sample at this visit")])
    if tx.session.execute(select(CsfSample.id).where(CsfSample.sample_id == sample_id)).scalar() is not None:
        raise InvalidState(f"sample {sample_id!r} is already recorded")
    s = CsfSample(sample_id=sample_id, participant_id=p.id, visit_code=visit, collected_at=collected_at)
    tx.session.add(s)
    tx.session.flush()
    tx.audit(
        "csf_sample.record",
        "csf_sample",
        s.id,
        {"sample_id": (None, sample_id), "visit": (None, visit), "collected_at": (None, collected_at)},
        participant=p,
    )
    return sample_id


def record_lab_result(
    db: CaptureDB,
    actor: Actor,
    *,
    sample_id: str,
    analyte: str,
    value: float | None,
    unit: str,
    assay: str,
    below_lloq: bool | None = None,
) -> LabResultView:
    """Store one result; a value may be empty only when it is flagged below the LLOQ."""
    with transaction(db, actor, policy.Permission.RECORD_LAB) as tx:
        return _record_result(tx, sample_id, analyte, value, unit, assay, below_lloq)


def _record_result(
    tx: Tx, sample_id: str, analyte: str, value: float | None, unit: str, assay: str, below_lloq: bool | None
) -> LabResultView:
    problems: list[Problem] = []
    try:
        spec = tx.protocol.analyte(analyte)
    except KeyError:
        raise ValidationFailed(
            [Problem("analyte", analyte, f"expected one of {[a.code for a in tx.protocol.analytes]}")],
            context="lab result",
        ) from None
    factor = 1.0 if unit == spec.unit else spec.conversions.get(unit)
    if factor is None:
        problems.append(
            Problem("unit", unit, f"expected {spec.unit!r} or a unit with a conversion: {sorted(spec.conversions)}")
        )
    if value is None and not below_lloq:
        problems.append(Problem("value", value, "required unless the result is flagged below the LLOQ"))
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value != value
    ):
        problems.append(Problem("value", value, "expected a number ≥ 0"))
    if not assay or not str(assay).strip():
        problems.append(Problem("assay", assay, "required (name the assay/platform)"))
    if problems:
        raise ValidationFailed(problems, context="lab result")
    assert factor is not None
    sample = tx.session.execute(select(CsfSample).where(CsfSample.sample_id == sample_id)).scalar_one_or_none()
    if sample is None:
        raise NotFound(f"no sample {sample_id!r}; record the sample first")
    p = tx.session.get(Participant, sample.participant_id)
    assert p is not None
    tx.check_site(p)
    if (
        tx.session.execute(
            select(LabResult.id).where(LabResult.sample_pk == sample.id, LabResult.analyte == analyte)
        ).scalar()
        is not None
    ):
        raise InvalidState(f"{analyte} of sample {sample_id!r} is already recorded; correct it instead")
    std = None if value is None else float(value) * factor
    flag = bool(below_lloq) or (std is not None and std < spec.lloq)
    row = LabResult(
        sample_pk=sample.id,
        analyte=analyte,
        value_original=None if value is None else float(value),
        unit_original=unit,
        value_std=std,
        unit_std=spec.unit,
        lloq_std=spec.lloq,
        below_lloq=flag,
        assay=str(assay).strip(),
    )
    tx.session.add(row)
    tx.session.flush()
    tx.audit(
        "lab_result.record",
        "lab_result",
        row.id,
        {
            "analyte": (None, analyte),
            "value_original": (None, row.value_original),
            "unit_original": (None, unit),
            "value_std": (None, std),
            "unit_std": (None, spec.unit),
            "below_lloq": (None, flag),
            "assay": (None, row.assay),
        },
        participant=p,
    )
    return LabResultView(sample_id, analyte, row.value_original, unit, std, spec.unit, flag, row.assay)

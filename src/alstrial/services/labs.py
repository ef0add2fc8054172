"""CSF samples and analyte results, converted into the catalogue's standard unit (original kept).

:func:`record_lab_result` stores one result; :func:`record_lab_results` stores every analyte of
one sample in one transaction (one lab report, one durable write). Both run the same private
implementation, so the rules, conversions and audit records are identical.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select

from alstrial.domain.fields import FIELDS, date_problem
from alstrial.errors import Problem, ValidationFailed
from alstrial.protocol.models import Analyte
from alstrial.services import policy
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB, Tx, transaction
from alstrial.services.exceptions import Conflict, NotFound
from alstrial.services.idempotency import idempotent, remember
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


@dataclass(frozen=True)
class LabResultInput:
    """One analyte result as reported by the lab (value in ``unit``; ``None`` only when below the LLOQ)."""

    analyte: str
    value: float | None
    unit: str
    below_lloq: bool | None = None


@idempotent(str)
def record_csf_sample(
    db: CaptureDB,
    actor: Actor,
    code: str,
    *,
    visit: str,
    sample_id: str,
    collected_at: datetime,
    request_key: str | None = None,
) -> str:
    with transaction(db, actor, policy.Permission.RECORD_LAB) as tx:
        return remember(tx, record_csf_sample_step(tx, code, visit, sample_id, collected_at))


def record_csf_sample_step(tx: Tx, code: str, visit: str, sample_id: str, collected_at: datetime) -> str:
    tx.require(policy.Permission.RECORD_LAB)
    problems = []
    if not sample_id or not str(sample_id).strip():
        problems.append(Problem("sample_id", sample_id, "required"))
    if found := date_problem(collected_at, "collected_at"):
        problems.append(found)
    if problems:
        raise ValidationFailed(problems, context="CSF sample")
    p = tx.participant(code)
    visit_record(tx, p, visit)
    if "csf" not in tx.protocol.visit(visit).assessments:
        raise ValidationFailed([Problem("visit", visit, "the schedule has no CSF sample at this visit")])
    if tx.session.execute(select(CsfSample.id).where(CsfSample.sample_id == sample_id)).scalar() is not None:
        raise Conflict(f"sample {sample_id!r} is already recorded")
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
        return record_lab_result_step(tx, sample_id, analyte, value, unit, assay, below_lloq)


@idempotent(list[LabResultView])
def record_lab_results(
    db: CaptureDB,
    actor: Actor,
    *,
    sample_id: str,
    results: Sequence[LabResultInput],
    assay: str,
    request_key: str | None = None,
) -> list[LabResultView]:
    """Store several analytes of one sample in one transaction: all of them, or none.

    Every result is checked before anything is written; a :class:`ValidationFailed` lists every
    problem with its place (``results[1].unit``). The rules and the audit records are those of
    :func:`record_lab_result`, one record per result.
    """
    with transaction(db, actor, policy.Permission.RECORD_LAB) as tx:
        return remember(tx, record_lab_results_step(tx, sample_id, results, assay, indexed=True))


def record_lab_result_step(
    tx: Tx, sample_id: str, analyte: str, value: float | None, unit: str, assay: str, below_lloq: bool | None
) -> LabResultView:
    """One result inside the caller's transaction (the CSV import runs it once per row)."""
    result = LabResultInput(analyte, value, unit, below_lloq)
    return record_lab_results_step(tx, sample_id, [result], assay, indexed=False)[0]


@dataclass(frozen=True)
class _Checked:
    """A result that passed validation: its catalogue entry and the factor to the standard unit."""

    result: LabResultInput
    spec: Analyte
    factor: float


def record_lab_results_step(
    tx: Tx, sample_id: str, results: Sequence[LabResultInput], assay: str, *, indexed: bool
) -> list[LabResultView]:
    """Validate every result (all problems at once), then write each with its audit record."""
    tx.require(policy.Permission.RECORD_LAB)
    checked, problems = _check_results(tx, results, indexed=indexed)
    if found := FIELDS["lab_result"]["assay"].problem(assay):
        problems.append(found)
    if problems:
        raise ValidationFailed(problems, context="lab result" if not indexed else "lab results")
    sample = tx.session.execute(select(CsfSample).where(CsfSample.sample_id == sample_id)).scalar_one_or_none()
    if sample is None:
        raise NotFound(f"no sample {sample_id!r}; record the sample first")
    p = tx.session.get(Participant, sample.participant_id)
    assert p is not None
    tx.check_site(p)
    stored = set(tx.session.execute(select(LabResult.analyte).where(LabResult.sample_pk == sample.id)).scalars())
    if clash := [c.result.analyte for c in checked if c.result.analyte in stored]:
        what = ", ".join(clash)
        raise Conflict(f"{what} of sample {sample_id!r} is already recorded; correct it instead")
    rows = [_result_row(sample, c, str(assay).strip()) for c in checked]
    tx.session.add_all(rows)
    tx.session.flush()
    for row in rows:
        tx.audit(
            "lab_result.record",
            "lab_result",
            row.id,
            {
                "analyte": (None, row.analyte),
                "value_original": (None, row.value_original),
                "unit_original": (None, row.unit_original),
                "value_std": (None, row.value_std),
                "unit_std": (None, row.unit_std),
                "below_lloq": (None, row.below_lloq),
                "assay": (None, row.assay),
            },
            participant=p,
        )
    return [
        LabResultView(
            sample_id, r.analyte, r.value_original, r.unit_original, r.value_std, r.unit_std, r.below_lloq, r.assay
        )
        for r in rows
    ]


def _check_results(tx: Tx, results: Sequence[LabResultInput], *, indexed: bool) -> tuple[list[_Checked], list[Problem]]:
    """Check each result against the analyte catalogue; ``where`` names ``results[i].field`` when indexed."""
    checked: list[_Checked] = []
    problems: list[Problem] = []
    if indexed and (isinstance(results, str | bytes) or len(results) == 0):
        problems.append(Problem("results", results, "expected a non-empty list of lab results"))
        return checked, problems
    seen: dict[str, int] = {}
    for i, result in enumerate(results):
        at = f"results[{i}]." if indexed else ""
        if not isinstance(result, LabResultInput):
            problems.append(Problem(f"results[{i}]", result, "expected a LabResultInput"))
            continue
        found = _check_one(tx, result, at)
        if isinstance(found, list):
            problems.extend(found)
        first = seen.setdefault(result.analyte, i)
        if first != i:
            problems.append(Problem(f"{at}analyte", result.analyte, f"duplicate of results[{first}] in this batch"))
        elif isinstance(found, _Checked):
            checked.append(found)
    return checked, problems


def _check_one(tx: Tx, result: LabResultInput, at: str) -> _Checked | list[Problem]:
    """One result's problems, or the result with its catalogue entry and unit factor."""
    problems: list[Problem] = []
    value = result.value
    factor: float | None = None
    try:
        spec: Analyte | None = tx.protocol.analyte(result.analyte)
    except KeyError:
        spec = None
        codes = [a.code for a in tx.protocol.analytes]
        problems.append(Problem(f"{at}analyte", result.analyte, f"expected one of {codes}"))
    if spec is not None:
        factor = 1.0 if result.unit == spec.unit else spec.conversions.get(result.unit)
        if factor is None:
            allowed = sorted(spec.conversions)
            problems.append(
                Problem(f"{at}unit", result.unit, f"expected {spec.unit!r} or a unit with a conversion: {allowed}")
            )
    if value is None and not result.below_lloq:
        problems.append(Problem(f"{at}value", value, "required unless the result is flagged below the LLOQ"))
    if value is not None and (found := FIELDS["lab_result"]["value_original"].problem(value, f"{at}value")):
        problems.append(found)
    if not problems and value is not None and result.below_lloq:
        assert spec is not None and factor is not None
        if (std := float(value) * factor) >= spec.lloq:
            problems.append(
                Problem(
                    f"{at}below_lloq",
                    True,
                    f"flagged below the LLOQ, but {value:g} {result.unit} is {std:g} {spec.unit}, "
                    f"at or above the LLOQ of {spec.lloq:g} {spec.unit}",
                )
            )
    if problems:
        return problems
    assert spec is not None and factor is not None
    return _Checked(result, spec, factor)


def _result_row(sample: CsfSample, c: _Checked, assay: str) -> LabResult:
    """The stored row: the original value and unit kept, the standard value and the LLOQ flag derived."""
    value = c.result.value
    std = None if value is None else float(value) * c.factor
    return LabResult(
        sample_pk=sample.id,
        analyte=c.result.analyte,
        value_original=None if value is None else float(value),
        unit_original=c.result.unit,
        value_std=std,
        unit_std=c.spec.unit,
        lloq_std=c.spec.lloq,
        below_lloq=below_lloq(std, c.spec.lloq),
        assay=assay,
    )


def below_lloq(value_std: float | None, lloq: float) -> bool:
    """The stored LLOQ flag, at entry and at correction alike: no value, or a value under the LLOQ."""
    return value_std is None or value_std < lloq

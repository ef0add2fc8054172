"""The protocol's case report forms as plain data: what a REDCap data dictionary or ODM metadata describes.

One neutral model serves both exchange formats, so a dictionary exported and re-imported can be
compared field by field. :func:`protocol_forms` derives the forms of a protocol: screening (the
protocol's screening fields), the ALSFRS-R (radio items with the published anchors, 5a/5b shown by
gastrostomy status, the total as a calculation), vital capacity, CSF labs (one value and one
below-LLOQ flag per analyte), adverse events and study withdrawal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from alstrial.domain.fields import ACTIONS, OUTCOMES, RELATEDNESS, SEVERITIES
from alstrial.instruments.alsfrs_r import ITEMS
from alstrial.protocol.models import Protocol
from alstrial.services.disposition import DECIDERS, REASON_CODES
from alstrial.services.safety import SAE_CRITERIA

FieldType = Literal["text", "notes", "dropdown", "radio", "checkbox", "yesno", "truefalse", "calc", "descriptive"]
#: what the protocol model can hold; REDCap's file, slider and sql fields are reported as unsupported
FIELD_TYPES: tuple[str, ...] = (
    "text",
    "notes",
    "dropdown",
    "radio",
    "checkbox",
    "yesno",
    "truefalse",
    "calc",
    "descriptive",
)
RECORD_ID = "record_id"
#: forms every alstrial trial has (they are capture screens, not protocol assessments)
BUILT_IN_FORMS = ("screening", "alsfrs_r", "vital_capacity", "csf_labs", "adverse_event", "study_withdrawal")


@dataclass(frozen=True)
class FormField:
    """One field of a form, in REDCap's vocabulary (which ODM maps onto ItemDefs)."""

    name: str
    form: str
    type: str
    label: str
    choices: tuple[tuple[str, str], ...] = ()
    validation: str = ""
    min: str = ""
    max: str = ""
    note: str = ""
    branching: str = ""
    required: bool = False
    section: str = ""
    calculation: str = ""
    annotation: str = ""


@dataclass(frozen=True)
class Form:
    name: str
    fields: tuple[FormField, ...] = field(default=())

    def field(self, name: str) -> FormField:
        return next(f for f in self.fields if f.name == name)


def _codes(values: tuple[str, ...] | list[str]) -> tuple[tuple[str, str], ...]:
    return tuple((v, v) for v in values)


def choice_code(term: str) -> str:
    """A REDCap choice code for a controlled term (codes allow letters, digits and '_' only)."""
    return re.sub(r"[^a-z0-9]+", "_", term.lower()).strip("_")


def _terms(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """Controlled terms as choices: a code REDCap accepts, the term itself as the label."""
    return tuple((choice_code(v), v) for v in values)


def alsfrs_field_name(item_code: str) -> str:
    return f"alsfrs_{item_code}"


def _screening(protocol: Protocol) -> Form:
    fields = [
        FormField(RECORD_ID, "screening", "text", "Participant code"),
        FormField("screened_on", "screening", "text", "Date of screening", validation="date_ymd", required=True),
        FormField(
            "consent_date", "screening", "text", "Date of informed consent", validation="date_ymd", required=True
        ),
        FormField("site", "screening", "dropdown", "Site", choices=tuple((s.code, s.name) for s in protocol.sites)),
    ]
    for f in protocol.screening_fields:
        if f.type in ("integer", "number"):
            lo, hi = ("" if b is None else f"{b:g}" for b in (f.min, f.max))
            fields.append(
                FormField(f.name, "screening", "text", f.label, validation=f.type, min=lo, max=hi, note=f.unit)
            )
        elif f.type == "boolean":
            fields.append(FormField(f.name, "screening", "yesno", f.label, note=f.unit))
        else:
            fields.append(FormField(f.name, "screening", "radio", f.label, choices=_codes(f.levels), note=f.unit))
    return Form("screening", tuple(fields))


def _alsfrs() -> Form:
    form = "alsfrs_r"
    gastro = alsfrs_field_name("gastrostomy")
    fields = [
        FormField("alsfrs_date", form, "text", "Date of assessment", validation="date_ymd", required=True),
        FormField(gastro, form, "yesno", "Has a gastrostomy (item 5b replaces 5a)", required=True),
    ]
    for item in ITEMS:
        choices = tuple((str(score), item.anchors[score]) for score in (4, 3, 2, 1, 0))
        branching = {"q5a": f"[{gastro}] = '0'", "q5b": f"[{gastro}] = '1'"}.get(item.code, "")
        label = f"{item.number}. {item.name}"
        fields.append(
            FormField(alsfrs_field_name(item.code), form, "radio", label, choices, branching=branching, required=True)
        )
    terms = ",".join(f"[{alsfrs_field_name(i.code)}]" for i in ITEMS)
    fields.append(FormField("alsfrs_total", form, "calc", "ALSFRS-R total (0-48)", calculation=f"sum({terms})"))
    return Form(form, tuple(fields))


def _vital_capacity() -> Form:
    form = "vital_capacity"
    return Form(
        form,
        (
            FormField(
                "vc_test",
                form,
                "radio",
                "Test",
                (("SVC", "Slow vital capacity"), ("FVC", "Forced vital capacity")),
                required=True,
            ),
            FormField("vc_liters", form, "text", "Vital capacity", validation="number", min="0", max="10", note="L"),
            FormField(
                "vc_percent_predicted",
                form,
                "text",
                "Percent predicted",
                validation="number",
                min="0",
                max="200",
                note="% predicted",
                required=True,
            ),
            FormField("vc_position", form, "radio", "Position", _codes(["upright", "supine"]), required=True),
        ),
    )


def _csf(protocol: Protocol) -> Form:
    form = "csf_labs"
    fields = [
        FormField("csf_sample_id", form, "text", "Sample ID", required=True),
        FormField("csf_collected_at", form, "text", "Collected at", validation="datetime_ymd", required=True),
        FormField("csf_assay", form, "text", "Assay platform", required=True),
    ]
    for a in protocol.analytes:
        name = a.code.lower()
        fields.append(FormField(f"{name}_value", form, "text", a.name, validation="number", min="0", note=a.unit))
        fields.append(FormField(f"{name}_below_lloq", form, "yesno", f"{a.name} below LLOQ ({a.lloq:g} {a.unit})"))
    return Form(form, tuple(fields))


def _adverse_event() -> Form:
    form = "adverse_event"
    return Form(
        form,
        (
            FormField("ae_term", form, "text", "Adverse event (verbatim term)", required=True),
            FormField("ae_onset_date", form, "text", "Onset date", validation="date_ymd", required=True),
            FormField("ae_resolution_date", form, "text", "Resolution date", validation="date_ymd"),
            FormField("ae_serious", form, "yesno", "Serious", required=True),
            FormField(
                "ae_criteria",
                form,
                "checkbox",
                "Seriousness criteria",
                _terms(SAE_CRITERIA),
                branching="[ae_serious] = '1'",
            ),
            FormField("ae_severity", form, "radio", "Severity", _terms(SEVERITIES), required=True),
            FormField(
                "ae_relatedness", form, "radio", "Relatedness to study treatment", _terms(RELATEDNESS), required=True
            ),
            FormField("ae_action_taken", form, "dropdown", "Action taken", _terms(ACTIONS), required=True),
            FormField("ae_outcome", form, "dropdown", "Outcome", _terms(OUTCOMES), required=True),
        ),
    )


def _withdrawal() -> Form:
    form = "study_withdrawal"
    return Form(
        form,
        (
            FormField("withdrawn_on", form, "text", "Date of withdrawal", validation="date_ymd", required=True),
            FormField("reason_code", form, "dropdown", "Reason", _terms(REASON_CODES), required=True),
            FormField("decided_by", form, "radio", "Decided by", _terms(DECIDERS), required=True),
            FormField("reason_text", form, "notes", "Details"),
            FormField("vital_status_followup", form, "yesno", "Agrees to vital-status follow-up"),
        ),
    )


def protocol_forms(protocol: Protocol) -> tuple[Form, ...]:
    """The forms of a protocol, the screening form first (its first field is the record ID)."""
    return (_screening(protocol), _alsfrs(), _vital_capacity(), _csf(protocol), _adverse_event(), _withdrawal())

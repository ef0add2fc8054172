"""A draft protocol from a REDCap data dictionary, written as protocol TOML for a person to finish.

The screening form's fields become the protocol's screening fields (integer/number text fields,
yes/no, radio and dropdown categories); every other form becomes an instrument assessment. What
cannot be carried (free text, dates, checkboxes on the screening form; eligibility criteria or
strata of the base protocol whose field the dictionary lacks) is reported, never silently dropped.
Arms, visits, dosing and endpoints come from a base protocol (the seed trial by default): a data
dictionary says nothing about them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from alstrial.interop.forms import BUILT_IN_FORMS, RECORD_ID, Form
from alstrial.interop.redcap_dictionary import Dictionary, Unsupported
from alstrial.protocol.loader import protocol_from_mapping
from alstrial.protocol.models import Protocol

FIXED_SCREENING = (RECORD_ID, "screened_on", "consent_date", "site")


@dataclass(frozen=True)
class DraftProtocol:
    protocol: Protocol
    unsupported: tuple[Unsupported, ...]

    def __str__(self) -> str:
        p = self.protocol
        lines = [
            f"draft protocol {p.id}: {len(p.screening_fields)} screening field(s), {len(p.assessments)} assessment(s)",
            f"  screening fields: {', '.join(f.name for f in p.screening_fields)}",
        ]
        if self.unsupported:
            lines.append(f"{len(self.unsupported)} unsupported feature(s):")
            lines += [f"  {u}" for u in self.unsupported]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {
            "protocol": self.protocol.model_dump(mode="json"),
            "unsupported": [{"field": u.field, "feature": u.feature, "detail": u.detail} for u in self.unsupported],
        }


def _screening_field(f: Any) -> dict[str, Any] | str:
    """A protocol screening field from a form field, or why it cannot be one."""
    base = {"name": f.name, "label": f.label or f.name}
    if f.type == "text" and (f.validation == "integer" or f.validation.startswith("number")):
        kind = "integer" if f.validation == "integer" else "number"
        numeric: dict[str, Any] = base | {"type": kind, "unit": f.note}
        for bound in ("min", "max"):  # REDCap's validation min/max is the field's range
            text = str(getattr(f, bound, "") or "").strip()
            if not text:
                continue
            try:
                numeric[bound] = float(text)
            except ValueError:
                return f"validation {bound} {text!r} is not a number"
        return numeric
    if f.type in ("yesno", "truefalse"):
        return base | {"type": "boolean", "unit": f.note}
    if f.type in ("radio", "dropdown"):
        return base | {"type": "category", "unit": f.note, "levels": [c for c, _ in f.choices]}
    kind = f.type if f.type != "text" else f"text ({f.validation or 'no validation'})"
    return f"a {kind} field cannot be a screening field (integer, number, yes/no or a category)"


def draft_protocol(dictionary: Dictionary, base: Protocol, *, screening_form: str = "screening") -> DraftProtocol:
    """The base protocol with its screening fields and assessments taken from the dictionary's forms."""
    unsupported = list(dictionary.unsupported)
    forms = {f.name: f for f in dictionary.forms}
    screening: Form | None = forms.get(screening_form) or (dictionary.forms[0] if dictionary.forms else None)
    fields: list[dict[str, Any]] = []
    for f in screening.fields if screening else ():
        if f.name in FIXED_SCREENING or f.type == "descriptive":
            continue
        made = _screening_field(f)
        if isinstance(made, str):
            unsupported.append(Unsupported(f.name, "screening field", made))
        elif len(f.name) > 40:
            unsupported.append(Unsupported(f.name, "screening field", "names are limited to 40 characters"))
        else:
            fields.append(made)
    data = base.model_dump(mode="json")
    data["screening_fields"] = fields
    names = {f["name"] for f in fields}
    kept = []
    for c in data["eligibility"]:
        if c["field"] in names:
            kept.append(c)
        else:
            unsupported.append(Unsupported(c["field"], f"eligibility criterion {c['id']}", "dropped: no such field"))
    data["eligibility"] = kept
    strata = []
    for s in data["strata"]:
        if s["source"] == "site" or s["field"] in names:
            strata.append(s)
        else:
            unsupported.append(Unsupported(s["field"], f"stratum {s['name']}", "dropped: no such field"))
    data["strata"] = strata
    known = {a["code"] for a in data["assessments"]}
    for form in dictionary.forms:
        if form is not screening and form.name not in known and form.name not in BUILT_IN_FORMS:
            title = form.name.replace("_", " ").capitalize()
            data["assessments"].append({"code": form.name[:32], "name": title, "kind": "instrument"})
    protocol = protocol_from_mapping(data, source="draft from REDCap dictionary")
    return DraftProtocol(protocol, tuple(unsupported))


# -- a small TOML writer for protocol data (the standard library reads TOML but does not write it) ---------
def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _table(data: dict[str, Any], path: str, out: list[str]) -> None:
    scalars = {k: v for k, v in data.items() if v is not None and not _is_table(v) and not _is_array_of_tables(v)}
    for k, v in scalars.items():
        out.append(f"{k} = {_value(v)}")
    for k, v in data.items():
        if _is_table(v):
            out += ["", f"[{path}{k}]"]
            _table(v, f"{path}{k}.", out)
    for k, v in data.items():
        if _is_array_of_tables(v):
            for item in v:
                out += ["", f"[[{path}{k}]]"]
                _table(item, f"{path}{k}.", out)


def _is_table(v: Any) -> bool:
    return (isinstance(v, dict) and any(isinstance(x, dict | list) for x in v.values())) or (
        isinstance(v, dict) and len(v) > 4
    )


def _is_array_of_tables(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def protocol_toml(protocol: Protocol) -> str:
    """Protocol TOML that :func:`alstrial.protocol.parse_protocol` reads back to the same protocol."""
    out = ["# Draft protocol written by alstrial from a REDCap data dictionary: review every section."]
    _table(protocol.model_dump(mode="json"), "", out)
    return "\n".join(out) + "\n"

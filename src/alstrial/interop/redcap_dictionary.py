"""REDCap data dictionaries: write the protocol's forms as one, read one back (any REDCap project's).

The 18 columns are REDCap's, in its order and spelling. Reading is strict about the file (header,
encoding, truncation, field types, names, choices: every problem listed, nothing returned) and
lenient about features: a feature alstrial's protocol model cannot hold (file uploads, sliders,
action tags, branching with functions or events, calculations other than sums ...) is kept on the
field and reported, one line per field and feature, so a data manager sees exactly what a
re-implementation in alstrial would lose.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, replace
from pathlib import Path

from alstrial.errors import Problem, ValidationFailed
from alstrial.interop.forms import FIELD_TYPES, Form, FormField

COLUMNS: tuple[str, ...] = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)
#: REDCap field types that exist but alstrial cannot hold
UNSUPPORTED_TYPES = ("file", "slider", "sql")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_FORM = re.compile(r"^[a-z][a-z0-9_]*$")
_CODE = re.compile(r"^-?[A-Za-z0-9_.]+$")
#: branching we can evaluate: [field] or [field(code)] compared with quoted text or numbers, and/or, parentheses
_BRANCH_TOKEN = re.compile(
    r"\s*(?:\[[a-z][a-z0-9_]*(?:\([A-Za-z0-9_]+\))?\]|'[^']*'|\"[^\"]*\"|-?\d+(?:\.\d+)?|<>|!=|<=|>=|=|<|>|and\b|or\b|\(|\))"
)
_SUM = re.compile(r"^sum\((\[[a-z][a-z0-9_]*\])(,\s*\[[a-z][a-z0-9_]*\])*\)$")
VALIDATIONS = {"integer", "number", "date_ymd", "datetime_ymd", "datetime_seconds_ymd", "time"}


@dataclass(frozen=True)
class Unsupported:
    """A feature of a REDCap field that alstrial does not carry over."""

    field: str
    feature: str
    detail: str

    def __str__(self) -> str:
        return f"{self.field}: {self.feature} — {self.detail}"


@dataclass(frozen=True)
class Dictionary:
    """A REDCap data dictionary read into forms, with every unsupported feature listed."""

    forms: tuple[Form, ...]
    unsupported: tuple[Unsupported, ...] = ()

    @property
    def fields(self) -> tuple[FormField, ...]:
        return tuple(f for form in self.forms for f in form.fields)

    def __str__(self) -> str:
        lines = [f"{len(self.forms)} form(s), {len(self.fields)} field(s)"]
        lines += [f"  {form.name}: {len(form.fields)} field(s)" for form in self.forms]
        if self.unsupported:
            lines.append(f"{len(self.unsupported)} unsupported feature(s):")
            lines += [f"  {u}" for u in self.unsupported]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {
            "forms": {form.name: [f.name for f in form.fields] for form in self.forms},
            "unsupported": [{"field": u.field, "feature": u.feature, "detail": u.detail} for u in self.unsupported],
        }


# -- writing -----------------------------------------------------------------------------------------
def _row(f: FormField) -> list[str]:
    choices = f.calculation if f.type == "calc" else " | ".join(f"{c}, {label}" for c, label in f.choices)
    return [
        f.name,
        f.form,
        f.section,
        f.type,
        f.label,
        choices,
        f.note,
        f.validation,
        f.min,
        f.max,
        "",
        f.branching,
        "y" if f.required else "",
        "",
        "",
        "",
        "",
        f.annotation,
    ]


def dictionary_csv(forms: tuple[Form, ...]) -> str:
    """The data dictionary as CSV text (UTF-8 when written; REDCap accepts it with or without a BOM)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for form in forms:
        for f in form.fields:
            writer.writerow(_row(f))
    return out.getvalue()


def write_dictionary(forms: tuple[Form, ...], path: Path) -> Path:
    path.write_text(dictionary_csv(forms), encoding="utf-8", newline="")
    return path


# -- reading -----------------------------------------------------------------------------------------
def decode(data: bytes, what: str) -> str:
    """UTF-8 text (a byte-order mark is dropped); anything else is refused with the offending byte's position."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(
            [Problem(what, data[exc.start : exc.start + 8], f"is not UTF-8 at byte {exc.start}: save it as UTF-8")],
            context=f"{what} cannot be read",
        ) from None


def read_rows(text: str, what: str, expected: tuple[str, ...] | None = None) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV text; a truncated file or a ragged row is refused with its line."""
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise ValidationFailed(
            [Problem(what, None, f"is not valid CSV ({exc}): the file looks truncated or has an unclosed quote")]
        ) from None
    if not rows:
        raise ValidationFailed([Problem(what, "", "is empty: expected a header row")])
    header, body = rows[0], rows[1:]
    if expected is not None and tuple(header) != expected:
        raise ValidationFailed([_header_problem(header, expected, what)], context=f"{what}: wrong header")
    problems = [
        Problem(
            f"{what} line {i}", len(r), f"has {len(r)} values, the header has {len(header)}: is the file truncated?"
        )
        for i, r in enumerate(body, start=2)
        if len(r) != len(header) and any(r)
    ]
    if problems:
        raise ValidationFailed(problems, context=f"{what}: nothing was read")
    return header, [r for r in body if any(r)]


def _header_problem(header: list[str], expected: tuple[str, ...], what: str) -> Problem:
    """Say what is missing, unexpected or out of order in a header (not a cascade of shifted columns)."""
    missing = [c for c in expected if c not in header]
    unknown = [c for c in header if c not in expected]
    diffs = [f"{len(header)} columns, expected {len(expected)}"] if len(header) != len(expected) else []
    if missing:
        diffs.append(f"missing {missing}")
    if unknown:
        diffs.append(f"unexpected {unknown}")
    if not missing and not unknown:
        first = next(i for i, (h, e) in enumerate(zip(header, expected, strict=False)) if h != e)
        diffs.append(f"column {first + 1} is {header[first]!r}, expected {expected[first]!r} (columns out of order)")
    return Problem(f"{what} header", header[:3], "; ".join(diffs))


def _parse_choices(text: str) -> tuple[tuple[str, str], ...] | None:
    out = []
    for part in text.split("|"):
        part = part.strip()
        if "," not in part:
            return None
        code, label = part.split(",", 1)
        out.append((code.strip(), label.strip()))
    return tuple(out)


def _features(f: FormField, raw: dict[str, str]) -> list[Unsupported]:
    out = []
    if f.type in UNSUPPORTED_TYPES:
        out.append(Unsupported(f.name, f"field type {f.type!r}", "alstrial forms hold no file, slider or SQL fields"))
    if f.validation and f.validation not in VALIDATIONS:
        out.append(
            Unsupported(
                f.name,
                f"validation {f.validation!r}",
                f"kept as free text; supported: {', '.join(sorted(VALIDATIONS))}",
            )
        )
    if f.type == "calc" and not _SUM.match(f.calculation.replace(" ", "")):
        out.append(Unsupported(f.name, "calculation", f"only sum([a],[b],...) is evaluated, not {f.calculation!r}"))
    if f.branching:
        rest = _BRANCH_TOKEN.sub("", f.branching).strip()
        if rest:
            out.append(
                Unsupported(f.name, "branching logic", f"functions, events or smart variables in {f.branching!r}")
            )
    tags = sorted(set(re.findall(r"@[A-Z][A-Z0-9-]*", f.annotation)))
    if tags:
        out.append(Unsupported(f.name, "action tags", f"{', '.join(tags)} are not applied"))
    if raw["Matrix Group Name"]:
        out.append(Unsupported(f.name, "matrix group", f"{raw['Matrix Group Name']!r} becomes separate fields"))
    if raw["Identifier?"].strip().lower() == "y":
        out.append(Unsupported(f.name, "identifier flag", "alstrial stores no direct identifiers; drop or de-identify"))
    if raw["Custom Alignment"] or raw["Question Number (surveys only)"]:
        out.append(Unsupported(f.name, "survey layout", "custom alignment and question numbers are not kept"))
    return out


def parse_dictionary(data: bytes, what: str = "data dictionary") -> Dictionary:
    """Read a REDCap data dictionary (bytes of the CSV export); raise :class:`ValidationFailed` listing every error."""
    _, rows = read_rows(decode(data, what), what, COLUMNS)
    problems: list[Problem] = []
    unsupported: list[Unsupported] = []
    forms: dict[str, list[FormField]] = {}
    seen: set[str] = set()
    for line, values in enumerate(rows, start=2):
        raw = dict(zip(COLUMNS, values, strict=True))
        name, form, ftype = raw[COLUMNS[0]].strip(), raw["Form Name"].strip(), raw["Field Type"].strip()
        where = f"line {line}"
        if not _NAME.match(name):
            problems.append(
                Problem(
                    f"{where}, {COLUMNS[0]}", name, "expected lowercase letters, digits and '_', starting with a letter"
                )
            )
        elif name in seen:
            problems.append(Problem(f"{where}, {COLUMNS[0]}", name, "defined twice"))
        seen.add(name)
        if not _FORM.match(form):
            problems.append(Problem(f"{where}, Form Name", form, "expected lowercase letters, digits and '_'"))
        if ftype not in FIELD_TYPES and ftype not in UNSUPPORTED_TYPES:
            allowed = ", ".join((*FIELD_TYPES, *UNSUPPORTED_TYPES))
            problems.append(
                Problem(f"{where}, Field Type", ftype, f"unknown REDCap field type; expected one of {allowed}")
            )
            continue
        choices_text = raw["Choices, Calculations, OR Slider Labels"].strip()
        choices: tuple[tuple[str, str], ...] = ()
        if ftype in ("radio", "dropdown", "checkbox"):
            parsed = _parse_choices(choices_text)
            if not choices_text or parsed is None:
                problems.append(
                    Problem(f"{where}, choices of {name}", choices_text, "expected 'code, label | code, label'")
                )
                continue
            bad = [c for c, _ in parsed if not _CODE.match(c)]
            if bad:
                problems.append(
                    Problem(f"{where}, choices of {name}", bad, "choice codes are letters, digits, '_' or '.'")
                )
            choices = parsed
        f = FormField(
            name=name,
            form=form,
            type=ftype,
            label=raw["Field Label"],
            choices=choices,
            validation=raw["Text Validation Type OR Show Slider Number"].strip(),
            min=raw["Text Validation Min"].strip(),
            max=raw["Text Validation Max"].strip(),
            note=raw["Field Note"],
            branching=raw["Branching Logic (Show field only if...)"].strip(),
            required=raw["Required Field?"].strip().lower() == "y",
            section=raw["Section Header"],
            calculation=choices_text if ftype == "calc" else "",
            annotation=raw["Field Annotation"].strip(),
        )
        if ftype == "slider":
            f = replace(f, validation="", calculation=choices_text)
        unsupported += _features(f, raw)
        forms.setdefault(form, []).append(f)
    if problems:
        raise ValidationFailed(problems, context=f"{what}: nothing was imported")
    return Dictionary(tuple(Form(n, tuple(fs)) for n, fs in forms.items()), tuple(unsupported))


def read_dictionary(path: Path) -> Dictionary:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ValidationFailed([Problem("data dictionary", str(path), f"cannot be read: {exc}")]) from None
    return parse_dictionary(data, what=Path(path).name)

"""A readable rendering of a protocol for `alstrial protocol show` and the report."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from alstrial.protocol.models import EligibilityCriterion, Protocol


def describe_criterion(c: EligibilityCriterion) -> str:
    """The machine rule of a criterion in words, e.g. ``age_years between 18 and 60``."""
    if c.rule == "between":
        if c.min is not None and c.max is not None:
            return f"{c.field} between {c.min:g} and {c.max:g}"
        return f"{c.field} ≥ {c.min:g}" if c.min is not None else f"{c.field} ≤ {c.max:g}"
    if c.rule == "in":
        return f"{c.field} in {', '.join(c.values)}"
    return f"{c.field} is {'true' if c.rule == 'is_true' else 'false'}"


def render_protocol(p: Protocol) -> RenderableType:
    """Rich renderable: header, arms, eligibility, schedule table, dosing, analytes, endpoints."""
    header = Text.assemble(
        (f"{p.id}", "bold"),
        f" — {p.title}\n",
        f"Phase {p.phase} · N = {p.sample_size} · ",
        f"{len(p.sites)} sites · allocation ",
        ":".join(str(a.ratio) for a in p.arms),
        f" ({' vs '.join(a.code for a in p.arms)}) · randomization {p.randomization.method}",
        f", strata: {', '.join(s.name for s in p.strata) or 'none'}",
    )

    arms = Table(title="Arms", title_justify="left")
    for col in ("code", "name", "ratio", "control", "description"):
        arms.add_column(col)
    for a in p.arms:
        arms.add_row(a.code, a.name, str(a.ratio), "yes" if a.is_control else "", a.description)

    elig = Table(title="Eligibility", title_justify="left")
    for col in ("id", "kind", "criterion", "rule"):
        elig.add_column(col)
    for c in p.eligibility:
        elig.add_row(c.id, c.kind, c.text, describe_criterion(c))

    dose_at = {d.visit: d.number for d in p.dosing.doses}
    codes = [a.code for a in p.assessments]
    sched = Table(title="Schedule (day 0 = first dose)", title_justify="left")
    sched.add_column("visit")
    sched.add_column("day", justify="right")
    sched.add_column("window", justify="center")
    for code in codes:
        sched.add_column(code, justify="center")
    for v in p.visits:
        marks = ["●" if code in v.assessments else "" for code in codes]
        name = v.code + (f" (dose {dose_at[v.code]})" if v.code in dose_at else "")
        sched.add_row(name, str(v.day), f"−{v.window_before}/+{v.window_after}", *marks)

    dosing = Text(
        f"Dosing: {p.dosing.product} ({p.dosing.amount}, {p.dosing.route.lower()}) vs {p.dosing.placebo}; "
        f"{len(p.dosing.doses)} doses at {', '.join(v.code for v in p.dose_visits())}"
        + (f"; autologous, source procedure at {p.dosing.source_procedure_visit}" if p.dosing.autologous else "")
    )

    analytes = Table(title="CSF analytes", title_justify="left")
    for col in ("code", "name", "CDISC", "unit", "LLOQ", "expected"):
        analytes.add_column(col)
    for an in p.analytes:
        analytes.add_row(an.code, an.name, an.cdisc_testcd, an.unit, f"{an.lloq:g}", an.expected_direction)

    endpoints = Table(title="Endpoints", title_justify="left")
    for col in ("id", "kind", "method", "visit", "name"):
        endpoints.add_column(col)
    for e in p.endpoints:
        endpoints.add_row(e.id, e.kind, e.method, e.visit or "", e.name)

    return Group(header, arms, elig, sched, dosing, analytes, endpoints)

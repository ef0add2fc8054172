"""Checks that span sections of a protocol: references between visits, assessments, fields...

They run on the raw TOML data so that they can report alongside field-level errors, and they
tolerate missing or malformed sections (those are reported by the field validation).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from itertools import pairwise
from typing import Any

from alstrial.errors import Problem
from alstrial.protocol.models import describe_range

_NUMERIC = {"integer", "number"}


def _items(data: Mapping[str, Any], key: str) -> list[tuple[int, dict[str, Any]]]:
    value = data.get(key)
    if not isinstance(value, list):
        return []
    return [(i, v) for i, v in enumerate(value) if isinstance(v, dict)]


def _duplicates(entries: Iterable[tuple[int, dict[str, Any]]], key: str, section: str) -> list[Problem]:
    entries = list(entries)
    counts = Counter(e.get(key) for _, e in entries if isinstance(e.get(key), str))
    return [
        Problem(f"{section}[{i}].{key}", e.get(key), f"duplicate {key}; each {key} in {section} must be unique")
        for i, e in entries
        if counts.get(e.get(key), 0) > 1
    ]


def check_references(data: Mapping[str, Any]) -> list[Problem]:
    """Every cross-section problem of a raw protocol mapping."""
    problems: list[Problem] = []
    for section, key in [
        ("arms", "code"),
        ("sites", "code"),
        ("visits", "code"),
        ("assessments", "code"),
        ("analytes", "code"),
        ("eligibility", "id"),
        ("endpoints", "id"),
        ("screening_fields", "name"),
        ("strata", "name"),
        ("estimands", "id"),
        ("subgroups", "id"),
    ]:
        problems += _duplicates(_items(data, section), key, section)

    arms = _items(data, "arms")
    if arms and sum(1 for _, a in arms if a.get("is_control") is True) > 1:
        problems.append(Problem("arms", [a.get("code") for _, a in arms], "at most one arm may be the control"))

    fields = {f.get("name"): f for _, f in _items(data, "screening_fields")}
    problems += _check_field_ranges(fields, {f.get("name"): i for i, f in _items(data, "screening_fields")})
    problems += _check_eligibility(data, fields)
    problems += _check_strata(data, fields)

    assessments = {a.get("code") for _, a in _items(data, "assessments")}
    visit_codes = [v.get("code") for _, v in _items(data, "visits")]
    for i, v in _items(data, "visits"):
        for j, code in enumerate(v.get("assessments") or []):
            if code not in assessments:
                problems.append(
                    Problem(
                        f"visits[{i}].assessments[{j}]",
                        code,
                        f"unknown assessment; defined: {sorted(map(str, assessments))}",
                    )
                )
    days = [(i, v.get("day")) for i, v in _items(data, "visits")]
    numeric_days = [(i, d) for i, d in days if isinstance(d, int)]
    for (_, d0), (i1, d1) in pairwise(numeric_days):
        if d1 <= d0:
            problems.append(
                Problem(f"visits[{i1}].day", d1, f"visits must be in increasing day order (previous day {d0})")
            )

    dosing = data.get("dosing")
    if isinstance(dosing, dict):
        for j, dose in enumerate(dosing.get("doses") or []):
            if isinstance(dose, dict) and dose.get("visit") not in visit_codes:
                problems.append(
                    Problem(f"dosing.doses[{j}].visit", dose.get("visit"), f"unknown visit; defined: {visit_codes}")
                )
        doses = [d for d in dosing.get("doses") or [] if isinstance(d, dict)]
        numbers: list[int] = [d["number"] for d in doses if isinstance(d.get("number"), int)]
        if numbers and sorted(numbers) != list(range(1, len(numbers) + 1)):
            problems.append(Problem("dosing.doses", numbers, "dose numbers must be 1, 2, ... without gaps"))
        src = dosing.get("source_procedure_visit")
        if src is not None and src not in visit_codes:
            problems.append(Problem("dosing.source_procedure_visit", src, f"unknown visit; defined: {visit_codes}"))

    for i, e in _items(data, "endpoints"):
        if e.get("visit") is not None and e.get("visit") not in visit_codes:
            problems.append(Problem(f"endpoints[{i}].visit", e.get("visit"), f"unknown visit; defined: {visit_codes}"))
    if sum(1 for _, e in _items(data, "endpoints") if e.get("kind") == "primary") > 1:
        problems.append(Problem("endpoints", "kind = primary", "at most one primary endpoint"))
    problems += _check_analysis_plan(data)
    return problems


_NUMERIC_SUBGROUPS = {"baseline_alsfrs_r", "age"}
_MI_METHODS = {"mmrm_change"}


def _check_analysis_plan(data: Mapping[str, Any]) -> list[Problem]:
    """Estimands name a defined endpoint, handle each event once; subgroups split where they can."""
    problems: list[Problem] = []
    endpoints = {e.get("id"): e for _, e in _items(data, "endpoints")}
    for i, est in _items(data, "estimands"):
        where = f"estimands[{i}]"
        endpoint = endpoints.get(est.get("endpoint"))
        if endpoint is None:
            problems.append(
                Problem(
                    f"{where}.endpoint",
                    est.get("endpoint"),
                    f"unknown endpoint; defined: {sorted(map(str, endpoints))}",
                )
            )
        events = [e for e in est.get("intercurrent_events") or [] if isinstance(e, dict)]
        counts = Counter(e.get("event") for e in events)
        for j, e in enumerate(events):
            if counts[e.get("event")] > 1:
                problems.append(
                    Problem(f"{where}.intercurrent_events[{j}].event", e.get("event"), "each event is handled once")
                )
        sensitivity = est.get("sensitivity") or []
        if sensitivity and endpoint is not None and endpoint.get("method") not in _MI_METHODS:
            problems.append(
                Problem(
                    f"{where}.sensitivity",
                    sensitivity,
                    f"missing-data sensitivity analyses apply to a continuous change endpoint (method mmrm_change); "
                    f"{est.get('endpoint')!r} uses {endpoint.get('method')!r}",
                )
            )
    for i, sg in _items(data, "subgroups"):
        numeric = sg.get("variable") in _NUMERIC_SUBGROUPS
        if numeric and not isinstance(sg.get("cutpoint"), int | float):
            problems.append(
                Problem(f"subgroups[{i}].cutpoint", sg.get("cutpoint"), f"{sg.get('variable')!r} needs a cut point")
            )
        if not numeric and sg.get("cutpoint") is not None:
            problems.append(
                Problem(f"subgroups[{i}].cutpoint", sg.get("cutpoint"), "cut points apply to numeric variables only")
            )
    return problems


def _check_field_ranges(fields: Mapping[Any, dict[str, Any]], order: Mapping[Any, int]) -> list[Problem]:
    problems: list[Problem] = []
    for name, f in fields.items():
        where = f"screening_fields[{order[name]}]"
        lo, hi = f.get("min"), f.get("max")
        if (lo is not None or hi is not None) and f.get("type") not in _NUMERIC:
            problems.append(Problem(f"{where}.min", lo if lo is not None else hi, "a range applies to numeric fields"))
        elif isinstance(lo, int | float) and isinstance(hi, int | float) and lo > hi:
            problems.append(Problem(f"{where}.min", lo, f"min must not exceed max ({hi})"))
    return problems


def _outside_range(field: Mapping[str, Any], value: object) -> str | None:
    """Why a criterion bound or a cut point lies outside the values its field can take (or None)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    lo, hi = field.get("min"), field.get("max")
    lowest = lo if isinstance(lo, int | float) and not isinstance(lo, bool) else None
    highest = hi if isinstance(hi, int | float) and not isinstance(hi, bool) else None
    if (lowest is not None and value < lowest) or (highest is not None and value > highest):
        shown = describe_range(lowest, highest)
        return f"outside the range of {field.get('name')!r} ({shown}): no recorded value could reach it"
    return None


def _check_eligibility(data: Mapping[str, Any], fields: Mapping[Any, dict[str, Any]]) -> list[Problem]:
    problems: list[Problem] = []
    for i, c in _items(data, "eligibility"):
        where = f"eligibility[{i}]"
        name, rule = c.get("field"), c.get("rule")
        field = fields.get(name)
        if field is None:
            problems.append(
                Problem(f"{where}.field", name, f"unknown screening field; defined: {sorted(map(str, fields))}")
            )
            continue
        ftype = field.get("type")
        if rule == "between":
            if ftype not in _NUMERIC:
                problems.append(
                    Problem(f"{where}.rule", rule, f"'between' needs a numeric field ({name!r} is {ftype})")
                )
            lo, hi = c.get("min"), c.get("max")
            if lo is None and hi is None:
                problems.append(Problem(f"{where}", None, "'between' needs min, max or both"))
            elif isinstance(lo, int | float) and isinstance(hi, int | float) and lo > hi:
                problems.append(Problem(f"{where}.min", lo, f"min must not exceed max ({hi})"))
            for bound in ("min", "max"):
                if (outside := _outside_range(field, c.get(bound))) is not None:
                    problems.append(Problem(f"{where}.{bound}", c.get(bound), outside))
        elif rule == "in":
            if ftype != "category":
                problems.append(Problem(f"{where}.rule", rule, f"'in' needs a category field ({name!r} is {ftype})"))
            levels = field.get("levels") or []
            values = c.get("values") or []
            if not values:
                problems.append(Problem(f"{where}.values", values, "'in' needs at least one value"))
            for j, v in enumerate(values):
                if v not in levels:
                    problems.append(Problem(f"{where}.values[{j}]", v, f"not a level of {name!r}; levels: {levels}"))
        elif rule in ("is_true", "is_false") and ftype != "boolean":
            problems.append(Problem(f"{where}.rule", rule, f"{rule!r} needs a boolean field ({name!r} is {ftype})"))
    return problems


def _check_strata(data: Mapping[str, Any], fields: Mapping[Any, dict[str, Any]]) -> list[Problem]:
    problems: list[Problem] = []
    site_codes = [s.get("code") for _, s in _items(data, "sites")]
    for i, s in _items(data, "strata"):
        where = f"strata[{i}]"
        levels = s.get("levels") or []
        if s.get("source") == "site":
            for j, lvl in enumerate(levels):
                if lvl not in site_codes:
                    problems.append(Problem(f"{where}.levels[{j}]", lvl, f"not a site code; sites: {site_codes}"))
            continue
        if s.get("source") != "screening":
            continue
        field = fields.get(s.get("field"))
        if field is None:
            problems.append(
                Problem(
                    f"{where}.field", s.get("field"), f"unknown screening field; defined: {sorted(map(str, fields))}"
                )
            )
            continue
        cuts = s.get("cutpoints") or []
        if field.get("type") == "category":
            if cuts:
                problems.append(Problem(f"{where}.cutpoints", cuts, "cut points apply to numeric fields only"))
            for j, lvl in enumerate(levels):
                if lvl not in (field.get("levels") or []):
                    problems.append(Problem(f"{where}.levels[{j}]", lvl, f"not a level of {s.get('field')!r}"))
        elif field.get("type") in _NUMERIC:
            if len(levels) != len(cuts) + 1:
                problems.append(
                    Problem(
                        f"{where}.levels", levels, f"a numeric factor needs len(cutpoints) + 1 = {len(cuts) + 1} levels"
                    )
                )
            numeric_cuts = [c for c in cuts if isinstance(c, int | float)]  # others are reported as field errors
            if numeric_cuts != sorted(numeric_cuts):
                problems.append(Problem(f"{where}.cutpoints", cuts, "cut points must be increasing"))
            for j, cut in enumerate(cuts):
                if (outside := _outside_range(field, cut)) is not None:
                    problems.append(Problem(f"{where}.cutpoints[{j}]", cut, outside))
        else:
            problems.append(Problem(f"{where}.field", s.get("field"), "a stratum needs a category or numeric field"))
        if not levels:
            problems.append(Problem(f"{where}.levels", levels, "a screening stratum needs its levels listed"))
    return problems

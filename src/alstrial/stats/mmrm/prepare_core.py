"""Check a long table against an MMRM spec and turn it into design and padded arrays.

It runs on a :class:`~alstrial.stats.table.Table` of numpy columns, so that the library (a
DataFrame, :mod:`.prepare`) and ``alstrial stats mmrm`` (a CSV file read without pandas) share one
implementation of every check and of the coding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alstrial.stats.mmrm.arrays import RepeatedArrays, make_arrays
from alstrial.stats.mmrm.covariance import make_structure
from alstrial.stats.mmrm.errors import MMRMDataError, RankDeficientDesign
from alstrial.stats.mmrm.formula import Design, Variable, aliased_columns, build_design, factor_levels, parse_formula
from alstrial.stats.mmrm.naturalsort import natural_sorted
from alstrial.stats.mmrm.spec import MMRMSpec
from alstrial.stats.table import Column, Table


@dataclass(frozen=True)
class PreparedArrays:
    """The rows used in the fit (response observed, covariates complete) and what derives from them."""

    rows: np.ndarray  # bool (n_rows,) of the table
    visit_text: np.ndarray  # the used rows' visits as text
    design: Design
    x: np.ndarray  # (N, k) unscaled design
    arrays: RepeatedArrays
    visits: tuple[str, ...]
    groups: tuple[str, ...]
    subjects: tuple[str, ...]
    between_columns: np.ndarray  # bool (k,), columns constant within every subject


def needed_columns(spec: MMRMSpec) -> list[str]:
    """Every column the spec reads, in the order they are reported when missing."""
    needed = [spec.response, spec.subject, spec.visit, *parse_formula(spec.fixed).variables]
    needed += [c for c in (spec.group, spec.weights) if c is not None]
    return list(dict.fromkeys(needed))


def _require_finite(table: Table, col: Column, name: str, role: str, rows: np.ndarray | None = None) -> None:
    """``inf`` (or ``1e400`` read from a file) would only surface later as a singular fit."""
    infinite = np.isinf(col.values.astype(float)) if col.numeric else np.zeros(len(col.values), dtype=bool)
    if rows is not None:
        infinite &= rows
    if infinite.any():
        i = int(np.flatnonzero(infinite)[0])
        raise MMRMDataError(
            f"{role} {name!r} must hold finite numbers, found {col.item(i)!r} in row {table.index[i]!r}"
        )


def prepare_table(spec: MMRMSpec, table: Table) -> PreparedArrays:
    """Validate columns and values, drop incomplete rows, code the design, build arrays."""
    formula = parse_formula(spec.fixed)
    missing = [c for c in needed_columns(spec) if c not in table.names]
    if missing:
        raise MMRMDataError(f"unknown column(s) {missing!r}; the data have columns {list(map(str, table.names))!r}")
    unknown_ref = [c for c in spec.ref if c not in formula.variables]
    if unknown_ref:
        raise MMRMDataError(f"ref names column(s) {unknown_ref!r} that are not in the formula {spec.fixed!r}")
    cols = table.columns
    response = cols[spec.response]
    if response.missing.all():
        raise MMRMDataError(
            f"the data have no observed {spec.response!r} ({table.n_rows} row(s)); there is nothing to fit"
        )
    if not response.numeric:
        present = response.values[~response.missing]
        bad = next((v for v in present if not isinstance(v, int | float)), response.item(0))
        raise MMRMDataError(f"response column {spec.response!r} must be numeric (found value {bad!r})")
    _require_finite(table, response, spec.response, "response column")
    visits = _visit_levels(spec, cols[spec.visit])
    rows = ~response.missing
    for name in [spec.subject, spec.visit]:
        gap = rows & cols[name].missing
        if gap.any():
            raise MMRMDataError(
                f"column {name!r} is missing in row {table.index[int(np.flatnonzero(gap)[0])]!r}, which has a response"
            )
    for complete in dict.fromkeys([*formula.variables, spec.group, spec.weights]):
        if complete:
            rows = rows & ~cols[complete].missing
    weights = np.ones(int(rows.sum()))
    if spec.weights is not None:
        weights = _weights(cols[spec.weights], spec.weights, rows)
    used = np.flatnonzero(rows)
    visit_text = cols[spec.visit].text[used]
    present_visits = set(visit_text)
    outside = sorted(present_visits - set(visits))
    if outside:
        raise MMRMDataError(f"visit value(s) {outside!r} are not in visit_order {list(visits)!r}")
    empty = [v for v in visits if v not in present_visits]
    if empty:
        raise MMRMDataError(
            f"visit level(s) {empty!r} of {spec.visit!r} have no observed {spec.response!r}; "
            "drop those rows or the level"
        )
    _no_duplicates(cols[spec.subject], cols[spec.visit], spec, used, visit_text)
    variables: dict[str, Variable] = {}
    frame: dict[str, np.ndarray] = {}
    for name in formula.variables:
        col = cols[name]
        if name == spec.visit:
            ref = spec.ref.get(name, visits[0])
            if ref not in visits:
                raise MMRMDataError(f"invalid reference level for {name!r}: {ref!r} is not one of {list(visits)!r}")
            variables[name] = Variable(name, tuple(visits), ref)
            frame[name] = visit_text
        elif col.numeric and name not in spec.ref:
            _require_finite(table, col, name, "covariate", rows)
            variables[name] = Variable(name, None)
            frame[name] = col.values[used].astype(float)
        else:
            levels, ref = factor_levels(col.text[used].tolist(), col.categories, spec.ref.get(name), name)
            variables[name] = Variable(name, levels, ref)
            frame[name] = col.text[used]
    design = build_design(formula, variables)
    x = design.matrix(frame, len(used))
    subject_col = cols[spec.subject]
    n_groups_guess = len(set(cols[spec.group].values[used].tolist())) if spec.group is not None else 1
    n_subjects = len(set(subject_col.values[used].tolist()))
    _check_size(spec, n_subjects, len(used), len(visits), design, n_groups_guess)
    aliased = aliased_columns(x, design.column_names)
    if aliased:
        raise RankDeficientDesign(aliased)
    subject_text = subject_col.text[used]
    subjects = tuple(str(s) for s in natural_sorted(set(subject_text)))
    subject_pos = {s: i for i, s in enumerate(subjects)}
    subject_idx = np.array([subject_pos[s] for s in subject_text], dtype=int)
    visit_pos = {v: i for i, v in enumerate(visits)}
    visit_idx = np.array([visit_pos[v] for v in visit_text], dtype=int)
    groups: tuple[str, ...] = ("all",)
    group_of_subject = np.zeros(len(subjects), dtype=int)
    if spec.group is not None:
        group_text = cols[spec.group].text[used]
        groups, group_of_subject = _groups(spec.group, group_text, subject_text, subject_idx, len(subjects))
    arrays = make_arrays(
        subject_idx,
        visit_idx,
        response.values[used].astype(float),
        x,
        weights,
        group_of_subject,
        len(visits),
        len(groups),
    )
    between = _between_columns(x, subject_idx, len(subjects))
    return PreparedArrays(rows, visit_text, design, x, arrays, tuple(visits), groups, subjects, between)


def _weights(col: Column, name: str, rows: np.ndarray) -> np.ndarray:
    used = np.flatnonzero(rows)
    if col.numeric:
        w = col.values[used].astype(float)
        bad_at = np.flatnonzero(~(w > 0))
        if not len(bad_at):
            return w
        found = col.item(int(used[bad_at[0]]))
    else:
        values = [col.item(int(i)) for i in used]
        found = next((v for v in values if not (isinstance(v, int | float) and v > 0)), values[0] if values else None)
    raise MMRMDataError(f"weights column {name!r} must be positive numbers (found {found!r})")


def _no_duplicates(subject: Column, visit: Column, spec: MMRMSpec, used: np.ndarray, visit_text: np.ndarray) -> None:
    seen: set[tuple[object, str]] = set()
    for i, v in zip(used.tolist(), visit_text.tolist(), strict=True):
        key = (subject.values[i], v)
        if key in seen:
            raise MMRMDataError(f"subject {subject.item(i)!r} has more than one row at visit {visit.item(i)!r}")
        seen.add(key)


def _groups(
    name: str, group_text: np.ndarray, subject_text: np.ndarray, subject_idx: np.ndarray, n_subjects: int
) -> tuple[tuple[str, ...], np.ndarray]:
    per_subject: dict[str, set[str]] = {}
    for s, g in zip(subject_text.tolist(), group_text.tolist(), strict=True):
        per_subject.setdefault(s, set()).add(g)
    several = sorted(s for s, gs in per_subject.items() if len(gs) > 1)
    if several:
        raise MMRMDataError(f"subject {several[0]!r} belongs to more than one {name!r} group")
    groups = tuple(str(g) for g in natural_sorted(set(group_text.tolist())))
    gpos = {g: i for i, g in enumerate(groups)}
    group_of_subject = np.zeros(n_subjects, dtype=int)
    group_of_subject[subject_idx] = [gpos[g] for g in group_text.tolist()]
    return groups, group_of_subject


def _visit_levels(spec: MMRMSpec, col: Column) -> list[str]:
    if spec.visit_order is not None:
        return list(spec.visit_order)
    if col.categories is not None:
        return list(col.categories)
    return [str(v) for v in natural_sorted(set(col.text[~col.missing].tolist()))]


def _check_size(spec: MMRMSpec, n_subjects: int, n_obs: int, n_visits: int, design: Design, n_groups: int) -> None:
    p = design.n_columns
    q = make_structure(spec.cov, n_visits).n_theta * n_groups
    if n_subjects < p or n_obs - p < q:
        raise MMRMDataError(
            f"too little data: {n_subjects} subject(s) with {n_obs} observation(s) cannot "
            f"estimate {p} fixed effect(s) and {q} covariance parameter(s) (cov={spec.cov!r}); "
            "need at least as many subjects as fixed effects and more observations than parameters"
        )


def _between_columns(x: np.ndarray, subject_idx: np.ndarray, n_subjects: int) -> np.ndarray:
    """Columns constant within every subject (between-subject effects, for ``between-within`` df)."""
    high = np.full((n_subjects, x.shape[1]), -np.inf)
    low = np.full((n_subjects, x.shape[1]), np.inf)
    np.maximum.at(high, subject_idx, x)
    np.minimum.at(low, subject_idx, x)
    return np.asarray((high - low).max(axis=0, initial=0.0) < 1e-12)

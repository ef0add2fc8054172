"""Check a long DataFrame against an MMRM spec and turn it into design and padded arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from alstrial.stats.mmrm.arrays import RepeatedArrays, make_arrays
from alstrial.stats.mmrm.covariance import make_structure
from alstrial.stats.mmrm.errors import MMRMDataError, RankDeficientDesign
from alstrial.stats.mmrm.formula import Design, Variable, aliased_columns, build_design, factor_levels, parse_formula
from alstrial.stats.mmrm.naturalsort import natural_sorted
from alstrial.stats.mmrm.spec import MMRMSpec


@dataclass(frozen=True)
class PreparedData:
    """The rows used in the fit and everything derived from them."""

    frame: pd.DataFrame  # used rows (response observed, covariates complete)
    design: Design
    x: np.ndarray  # (N, k) unscaled design
    arrays: RepeatedArrays
    visits: tuple[str, ...]
    groups: tuple[str, ...]
    subjects: tuple[str, ...]
    between_columns: np.ndarray  # bool (k,), columns constant within every subject


def _is_numeric(series: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(series.dtype)) and not pd.api.types.is_bool_dtype(series.dtype)


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def _require_finite(series: pd.Series, role: str) -> None:
    """``inf`` (or ``1e400`` read from a file) would only surface later as a singular fit."""
    infinite = np.isinf(series.to_numpy(dtype=float))
    if infinite.any():
        i = int(np.flatnonzero(infinite)[0])
        found = _plain(series.iloc[i])
        raise MMRMDataError(
            f"{role} {series.name!r} must hold finite numbers, found {found!r} in row {series.index[i]!r}"
        )


def prepare(spec: MMRMSpec, data: pd.DataFrame) -> PreparedData:
    """Validate columns and values, drop incomplete rows, code the design, build arrays."""
    if not isinstance(data, pd.DataFrame):
        raise MMRMDataError(f"data must be a pandas DataFrame (not {type(data).__name__})")
    formula = parse_formula(spec.fixed)
    needed = [spec.response, spec.subject, spec.visit, *formula.variables]
    needed += [c for c in (spec.group, spec.weights) if c is not None]
    missing = [c for c in dict.fromkeys(needed) if c not in data.columns]
    if missing:
        raise MMRMDataError(f"unknown column(s) {missing!r}; the data have columns {list(map(str, data.columns))!r}")
    unknown_ref = [c for c in spec.ref if c not in formula.variables]
    if unknown_ref:
        raise MMRMDataError(f"ref names column(s) {unknown_ref!r} that are not in the formula {spec.fixed!r}")
    response = data[spec.response]
    if response.notna().sum() == 0:
        raise MMRMDataError(
            f"the data have no observed {spec.response!r} ({len(data)} row(s)); there is nothing to fit"
        )
    if not _is_numeric(response):
        bad = next((v for v in response.dropna() if not isinstance(v, int | float)), response.iloc[0])
        raise MMRMDataError(f"response column {spec.response!r} must be numeric (found value {bad!r})")
    _require_finite(response, "response column")
    visits = _visit_levels(spec, data)
    rows = data[response.notna()]
    for col in [spec.subject, spec.visit]:
        if rows[col].isna().any():
            where = rows.index[rows[col].isna()][0]
            raise MMRMDataError(f"column {col!r} is missing in row {where!r}, which has a response")
    complete_cols = [c for c in dict.fromkeys([*formula.variables, spec.group, spec.weights]) if c]
    rows = rows.dropna(subset=complete_cols)
    if spec.weights is not None:
        w = rows[spec.weights]
        if not _is_numeric(w) or (w <= 0).any():
            bad = w[~w.apply(lambda v: isinstance(v, int | float) and v > 0)].iloc[0]
            raise MMRMDataError(f"weights column {spec.weights!r} must be positive numbers (found {bad!r})")
    visit_str = rows[spec.visit].astype(str)
    outside = sorted(set(visit_str) - set(visits))
    if outside:
        raise MMRMDataError(f"visit value(s) {outside!r} are not in visit_order {list(visits)!r}")
    empty = [v for v in visits if v not in set(visit_str)]
    if empty:
        raise MMRMDataError(
            f"visit level(s) {empty!r} of {spec.visit!r} have no observed {spec.response!r}; "
            "drop those rows or the level"
        )
    dup = rows.assign(_v=visit_str).duplicated(subset=[spec.subject, "_v"])
    if dup.any():
        first = rows[dup].iloc[0]
        raise MMRMDataError(f"subject {first[spec.subject]!r} has more than one row at visit {first[spec.visit]!r}")
    variables: dict[str, Variable] = {}
    for name in formula.variables:
        if name == spec.visit:
            ref = spec.ref.get(name, visits[0])
            if ref not in visits:
                raise MMRMDataError(f"invalid reference level for {name!r}: {ref!r} is not one of {list(visits)!r}")
            variables[name] = Variable(name, tuple(visits), ref)
        elif _is_numeric(rows[name]) and name not in spec.ref:
            _require_finite(rows[name], "covariate")
            variables[name] = Variable(name, None)
        else:
            levels, ref = factor_levels(rows[name], spec.ref.get(name), name)
            variables[name] = Variable(name, levels, ref)
    design = build_design(formula, variables)
    frame = rows.copy()
    frame[spec.visit] = visit_str
    x = design.matrix(frame)
    n_groups_guess = frame[spec.group].nunique() if spec.group is not None else 1
    _check_size(spec, frame[spec.subject].nunique(), len(frame), len(visits), design, n_groups_guess)
    aliased = aliased_columns(x, design.column_names)
    if aliased:
        raise RankDeficientDesign(aliased)
    subjects = tuple(str(s) for s in natural_sorted(set(frame[spec.subject].astype(str))))
    subject_pos = {s: i for i, s in enumerate(subjects)}
    subject_idx = frame[spec.subject].astype(str).map(subject_pos).to_numpy()
    visit_pos = {v: i for i, v in enumerate(visits)}
    visit_idx = visit_str.map(visit_pos).to_numpy()
    groups: tuple[str, ...] = ("all",)
    group_of_subject = np.zeros(len(subjects), dtype=int)
    if spec.group is not None:
        gcol = frame[spec.group].astype(str)
        per_subject = gcol.groupby(frame[spec.subject].astype(str)).nunique()
        if (per_subject > 1).any():
            bad = per_subject[per_subject > 1].index[0]
            raise MMRMDataError(f"subject {bad!r} belongs to more than one {spec.group!r} group")
        groups = tuple(str(g) for g in natural_sorted(set(gcol)))
        gpos = {g: i for i, g in enumerate(groups)}
        group_of_subject[subject_idx] = gcol.map(gpos).to_numpy()
    weights = frame[spec.weights].to_numpy(dtype=float) if spec.weights is not None else np.ones(len(frame))
    arrays = make_arrays(
        subject_idx,
        visit_idx,
        frame[spec.response].to_numpy(dtype=float),
        x,
        weights,
        group_of_subject,
        len(visits),
        len(groups),
    )
    between = _between_columns(x, subject_idx)
    return PreparedData(frame, design, x, arrays, tuple(visits), groups, subjects, between)


def _visit_levels(spec: MMRMSpec, data: pd.DataFrame) -> list[str]:
    if spec.visit_order is not None:
        return list(spec.visit_order)
    col = data[spec.visit]
    if isinstance(col.dtype, pd.CategoricalDtype):
        return [str(c) for c in col.cat.categories]
    return [str(v) for v in natural_sorted(set(col.dropna().astype(str)))]


def _check_size(spec: MMRMSpec, n_subjects: int, n_obs: int, n_visits: int, design: Design, n_groups: int) -> None:
    p = design.n_columns
    q = make_structure(spec.cov, n_visits).n_theta * n_groups
    if n_subjects < p or n_obs - p < q:
        raise MMRMDataError(
            f"too little data: {n_subjects} subject(s) with {n_obs} observation(s) cannot "
            f"estimate {p} fixed effect(s) and {q} covariance parameter(s) (cov={spec.cov!r}); "
            "need at least as many subjects as fixed effects and more observations than parameters"
        )


def _between_columns(x: np.ndarray, subject_idx: np.ndarray) -> np.ndarray:
    """Columns constant within every subject (between-subject effects, for ``between-within`` df)."""
    frame = pd.DataFrame(x)
    grouped = frame.groupby(subject_idx)
    spread = (grouped.max() - grouped.min()).max(axis=0).to_numpy()
    return np.asarray(spread < 1e-12)

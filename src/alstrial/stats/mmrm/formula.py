"""R-style right-hand sides (``RACE + SEX + ARMCD*AVISIT``) and their design matrices.

Coding follows R's ``model.matrix`` with treatment contrasts: a factor inside a term is coded by
contrasts (reference level dropped) when the term without that factor is also in the model (the
intercept being the empty term), otherwise by one indicator per level. Column names are R's:
``(Intercept)``, ``RACEWhite``, ``ARMCDTRT:AVISITVIS2``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from alstrial.stats.mmrm.errors import MMRMDataError, MMRMSpecError
from alstrial.stats.mmrm.naturalsort import natural_sorted

_TOKEN = re.compile(r"\s*(`[^`]+`|[A-Za-z_.][A-Za-z0-9_.]*|\d+|[+*:()-])")


@dataclass(frozen=True)
class Term:
    """One model term: an ordered tuple of variable names (empty = intercept)."""

    variables: tuple[str, ...]

    @property
    def label(self) -> str:
        return ":".join(self.variables) if self.variables else "(Intercept)"


@dataclass(frozen=True)
class ParsedFormula:
    """The expanded terms of a right-hand side, ordered like R (by degree, then appearance)."""

    intercept: bool
    terms: tuple[Term, ...]

    @property
    def variables(self) -> tuple[str, ...]:
        seen: list[str] = []
        for term in self.terms:
            for v in term.variables:
                if v not in seen:
                    seen.append(v)
        return tuple(seen)


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise MMRMSpecError(
                f"cannot parse fixed-effects formula {text!r} at {text[pos:]!r}; allowed: column names, "
                "'+', '-', '*', ':', parentheses, '1' and '0'"
            )
        tokens.append(match.group(1))
        pos = match.end()
    return tokens


class _Parser:
    """Recursive-descent parser for ``expr := prod (('+'|'-') prod)*``, ``prod := inter ('*' inter)*``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise MMRMSpecError(f"fixed-effects formula {self.text!r} ends unexpectedly")
        self.pos += 1
        return token

    def fail(self, token: str | None) -> MMRMSpecError:
        return MMRMSpecError(f"unexpected {token!r} in fixed-effects formula {self.text!r}")

    # each expression evaluates to a list of (sign, frozenset-of-variables) with ordered var lists
    def expr(self) -> list[tuple[int, tuple[str, ...]]]:
        out: list[tuple[int, tuple[str, ...]]] = []
        sign = 1
        if self.peek() == "-":
            self.take()
            sign = -1
        out += [(sign * s, t) for s, t in self.prod()]
        while self.peek() in ("+", "-"):
            sign = 1 if self.take() == "+" else -1
            out += [(sign * s, t) for s, t in self.prod()]
        return out

    def prod(self) -> list[tuple[int, tuple[str, ...]]]:
        left = self.inter()
        while self.peek() == "*":
            self.take()
            right = self.inter()
            crossed = [(1, _merge(a, b)) for _, a in left for _, b in right]
            left = left + right + crossed
        return left

    def inter(self) -> list[tuple[int, tuple[str, ...]]]:
        left = self.atom()
        while self.peek() == ":":
            self.take()
            right = self.atom()
            left = [(1, _merge(a, b)) for _, a in left for _, b in right]
        return left

    def atom(self) -> list[tuple[int, tuple[str, ...]]]:
        token = self.take()
        if token == "(":
            inner = self.expr()
            if self.take() != ")":
                raise MMRMSpecError(f"unbalanced parentheses in fixed-effects formula {self.text!r}")
            return inner
        if token == "1":
            return [(1, ("1",))]
        if token == "0":
            return [(1, ("0",))]
        if token.startswith("`"):
            return [(1, (token[1:-1],))]
        if token[0].isalpha() or token[0] in "_.":
            return [(1, (token,))]
        raise self.fail(token)


def _merge(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a + b))


def parse_formula(text: str) -> ParsedFormula:
    """Expand an R-style right-hand side into terms; ``1``/``0``/``-1`` control the intercept."""
    if not isinstance(text, str) or not text.strip():
        raise MMRMSpecError(f"fixed-effects formula must be a non-empty string such as '1' (not {text!r})")
    text = text.strip()
    if text.startswith("~"):
        text = text[1:]
    parser = _Parser(text)
    items = parser.expr()
    if parser.peek() is not None:
        raise parser.fail(parser.peek())
    intercept = True
    order: list[str] = []
    kept: dict[frozenset[str], tuple[str, ...]] = {}
    for sign, vars_ in items:
        if vars_ in (("1",), ("0",)):
            intercept = (vars_ == ("1",)) == (sign > 0)
            continue
        if "1" in vars_ or "0" in vars_:
            raise MMRMSpecError(f"'1'/'0' cannot be part of an interaction in {text!r}")
        for v in vars_:
            if v not in order:
                order.append(v)
        key = frozenset(vars_)
        if sign > 0:
            kept.setdefault(key, vars_)
        else:
            kept.pop(key, None)
    terms = [Term(tuple(sorted(v, key=order.index))) for v in kept.values()]
    terms.sort(key=lambda t: len(t.variables))  # stable: R orders by degree, then appearance
    return ParsedFormula(intercept=intercept, terms=tuple(terms))


@dataclass(frozen=True)
class Variable:
    """How one data column enters the design: numeric, or a factor with ordered levels."""

    name: str
    levels: tuple[str, ...] | None  # None = numeric
    reference: str | None = None

    @property
    def is_factor(self) -> bool:
        return self.levels is not None


@dataclass(frozen=True)
class TermCoding:
    """The columns a term contributes: per variable either 'num', 'contrast' or 'full'."""

    term: Term
    codings: tuple[str, ...]
    columns: tuple[str, ...]
    start: int

    @property
    def stop(self) -> int:
        return self.start + len(self.columns)


def factor_levels(
    present: Sequence[str], categories: Sequence[str] | None, reference: str | None, name: str
) -> tuple[tuple[str, ...], str]:
    """Levels of a factor column from its non-missing values as text: the categories' order for a
    categorical column (those observed), else natural sort; the reference level defaults to the first."""
    observed = set(present)
    if categories is not None:
        levels = [c for c in categories if c in observed]
    else:
        levels = [str(v) for v in natural_sorted(observed)]
    if not levels:
        raise MMRMDataError(f"factor column {name!r} has no non-missing values")
    if reference is None:
        reference = levels[0]
    elif reference not in levels:
        raise MMRMSpecError(f"invalid reference level for {name!r}: {reference!r} is not one of {levels!r}")
    return tuple(levels), reference


@dataclass(frozen=True)
class Design:
    """A coding of a formula on given variables; builds design matrices for any compatible frame."""

    formula: ParsedFormula
    variables: Mapping[str, Variable]
    codings: tuple[TermCoding, ...]

    @property
    def column_names(self) -> list[str]:
        return [c for tc in self.codings for c in tc.columns]

    @property
    def n_columns(self) -> int:
        return sum(len(tc.columns) for tc in self.codings)

    def term_slices(self) -> dict[str, slice]:
        return {tc.term.label: slice(tc.start, tc.stop) for tc in self.codings}

    def matrix(self, frame: Any, n_rows: int | None = None) -> np.ndarray:
        """The design matrix of ``frame`` (rows in order); factor values must be known levels.
        ``frame`` is a DataFrame or a mapping of column names to arrays of ``n_rows`` values."""
        n = len(frame) if n_rows is None else n_rows
        blocks: list[np.ndarray] = []
        for tc in self.codings:
            parts: list[np.ndarray] = []
            for var_name, coding in zip(tc.term.variables, tc.codings, strict=True):
                parts.append(self._variable_block(frame, self.variables[var_name], coding))
            block = np.ones((n, 1))
            for part in parts:  # first variable varies fastest, like R
                block = (part[:, :, None] * block[:, None, :]).reshape(n, -1)
            blocks.append(block)
        return np.hstack(blocks) if blocks else np.zeros((n, 0))

    @staticmethod
    def _variable_block(frame: Any, var: Variable, coding: str) -> np.ndarray:
        if var.levels is None:
            return np.asarray(frame[var.name], dtype=float)[:, None]
        values = np.asarray(frame[var.name].astype(str), dtype=object)
        used = [lv for lv in var.levels if not (coding == "contrast" and lv == var.reference)]
        unknown = set(values) - set(var.levels)
        if unknown:
            raise MMRMDataError(
                f"column {var.name!r} has level(s) {sorted(unknown)!r} not seen when fitting; "
                f"known levels: {list(var.levels)!r}"
            )
        return (values[:, None] == np.asarray(used, dtype=object)[None, :]).astype(float)


def build_design(formula: ParsedFormula, variables: Mapping[str, Variable]) -> Design:
    """Decide each term's coding (R's contrast rule) and name its columns."""
    present = {frozenset(t.variables) for t in formula.terms}
    if formula.intercept:
        present.add(frozenset())
    codings: list[TermCoding] = []
    start = 0
    if formula.intercept:
        codings.append(TermCoding(Term(()), (), ("(Intercept)",), 0))
        start = 1
    for term in formula.terms:
        kinds: list[str] = []
        labels: list[list[str]] = []
        for v in term.variables:
            var = variables[v]
            if var.levels is None:
                kinds.append("num")
                labels.append([v])
                continue
            kind = "contrast" if frozenset(term.variables) - {v} in present else "full"
            kinds.append(kind)
            labels.append([f"{v}{lv}" for lv in var.levels if not (kind == "contrast" and lv == var.reference)])
        # first variable varies fastest → iterate the product with reversed order
        combos = itertools.product(*reversed(labels))
        columns = tuple(":".join(reversed(c)) for c in combos)
        codings.append(TermCoding(term, tuple(kinds), columns, start))
        start += len(columns)
    return Design(formula=formula, variables=dict(variables), codings=tuple(codings))


def aliased_columns(x: np.ndarray, names: Sequence[str], tol: float = 1e-9) -> list[str]:
    """Columns that are linear combinations of earlier ones (pivot-free Gram-Schmidt, like R's lm)."""
    if x.shape[1] == 0:
        return []
    scale = np.sqrt((x**2).sum(axis=0))
    scale[scale == 0] = 1.0
    xs = x / scale
    basis: list[np.ndarray] = []
    aliased: list[str] = []
    for j in range(xs.shape[1]):
        v = xs[:, j].copy()
        for b in basis:
            v -= (b @ v) * b
        norm = float(np.sqrt(v @ v))
        if norm < 1e-7:
            aliased.append(names[j])
        else:
            basis.append(v / norm)
    return aliased

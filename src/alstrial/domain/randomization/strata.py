"""Stratum keys: stable strings built from stratification factor levels in protocol order.

A key such as ``site=S01|alsfrs_r_baseline=ge35`` names one stratum in allocation lists,
CSV files and the database, so it must be the same whatever order a caller's mapping has.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

from alstrial.domain.randomization.errors import InvalidRandomizationSpec, UnknownStratum

#: The single stratum of an unstratified design.
UNSTRATIFIED = "all"

_FORBIDDEN = ("|", "=")

FactorSpec = Sequence[str] | Sequence[tuple[str, Sequence[str]]]


def _check_token(kind: str, token: object) -> str:
    if not isinstance(token, str) or not token or token != token.strip():
        raise InvalidRandomizationSpec(
            f"invalid {kind}, expected a non-empty string without surrounding spaces (not {token!r})"
        )
    bad = [c for c in _FORBIDDEN if c in token]
    if bad:
        raise InvalidRandomizationSpec(
            f"invalid {kind} {token!r}: it may not contain {' or '.join(repr(c) for c in bad)}, "
            "which separate parts of a stratum key"
        )
    return token


def normalise_factors(factors: FactorSpec) -> list[tuple[str, tuple[str, ...] | None]]:
    """Factor names in order, each with its allowed levels when the caller gave them."""
    if isinstance(factors, str | bytes) or not isinstance(factors, Sequence):
        raise InvalidRandomizationSpec(f"invalid value for factors, expected a sequence (not {factors!r})")
    out: list[tuple[str, tuple[str, ...] | None]] = []
    for item in factors:
        if isinstance(item, str):
            name, levels = _check_token("factor name", item), None
        elif isinstance(item, tuple | list) and len(item) == 2:
            name = _check_token("factor name", item[0])
            raw = item[1]
            if isinstance(raw, str | bytes) or not isinstance(raw, Sequence) or len(raw) == 0:
                raise InvalidRandomizationSpec(
                    f"invalid levels for factor {name!r}, expected a non-empty sequence of strings (not {raw!r})"
                )
            levels = tuple(_check_token(f"level of factor {name!r}", lv) for lv in raw)
            if len(set(levels)) != len(levels):
                raise InvalidRandomizationSpec(f"duplicate levels for factor {name!r}: {list(levels)!r}")
        else:
            raise InvalidRandomizationSpec(f"invalid factor, expected a name or a (name, levels) pair (not {item!r})")
        if any(name == seen for seen, _ in out):
            raise InvalidRandomizationSpec(f"duplicate stratification factor {name!r}")
        out.append((name, levels))
    return out


def stratum_key(values: Mapping[str, str], factors: FactorSpec) -> str:
    """The stratum key of one participant, e.g. ``site=S01|alsfrs_r_baseline=ge35``.

    ``factors`` gives the order (protocol order): either names, or ``(name, levels)`` pairs
    to also check each level. Every factor must have a value and no other key is allowed,
    so a typo cannot send a participant to a stratum that has no list.
    """
    spec = normalise_factors(factors)
    names = [name for name, _ in spec]
    unknown = [k for k in values if k not in names]
    if unknown:
        raise UnknownStratum(f"unknown stratification factor(s) {unknown!r}; the design's factors are {names!r}")
    missing = [n for n in names if n not in values]
    if missing:
        raise UnknownStratum(f"no value for stratification factor(s) {missing!r}; got {dict(values)!r}")
    if not spec:
        return UNSTRATIFIED
    parts: list[str] = []
    for name, levels in spec:
        value = values[name]
        if levels is not None and value not in levels:
            raise UnknownStratum(
                f"unknown level {value!r} for stratification factor {name!r}, expected one of {list(levels)!r}"
            )
        parts.append(f"{name}={_check_token(f'level of factor {name!r}', value)}")
    return "|".join(parts)


def parse_stratum_key(key: str, factors: FactorSpec) -> dict[str, str]:
    """The inverse of :func:`stratum_key`: ``{factor: level}`` in factor order, checked."""
    spec = normalise_factors(factors)
    if not isinstance(key, str):
        raise UnknownStratum(f"invalid stratum key, expected a string (not {key!r})")
    if not spec:
        if key != UNSTRATIFIED:
            raise UnknownStratum(f"unknown stratum {key!r}; an unstratified design has only {UNSTRATIFIED!r}")
        return {}
    values: dict[str, str] = {}
    for part in key.split("|"):
        name, sep, level = part.partition("=")
        if not sep:
            raise UnknownStratum(f"invalid stratum key {key!r}: part {part!r} is not 'factor=level'")
        if name in values:
            raise UnknownStratum(f"invalid stratum key {key!r}: factor {name!r} appears twice")
        values[name] = level
    rebuilt = stratum_key(values, factors)
    if rebuilt != key:
        raise UnknownStratum(f"stratum key {key!r} is not in canonical factor order, expected {rebuilt!r}")
    return {name: values[name] for name, _ in spec}


def all_strata(factors: Sequence[tuple[str, Sequence[str]]]) -> list[str]:
    """Every stratum key of the design: the Cartesian product of levels, first factor slowest."""
    spec = normalise_factors(factors)
    if any(levels is None for _, levels in spec):
        raise InvalidRandomizationSpec("all_strata needs (name, levels) pairs for every factor")
    names = [name for name, _ in spec]
    level_lists = [levels for _, levels in spec if levels is not None]
    return [stratum_key(dict(zip(names, combo, strict=True)), factors) for combo in itertools.product(*level_lists)]

"""Hostile protocol files: every one is a :class:`ProtocolError` listing problems, never a crash.

Two fuzzers. (1) Systematic: each field and each section of the seed protocol in turn is replaced
by each of a set of wrong values (wrong type, out of range, non-finite, empty, nested) or deleted,
and the mapping validated; the cross-reference checks run after pydantic has rejected the field,
so they must tolerate whatever the file holds. (2) hypothesis: random TOML documents, and
structures nested thousands deep, through ``alstrial protocol check``.
"""

from __future__ import annotations

import copy
import math
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from alstrial.cli import app
from alstrial.protocol import ProtocolError, default_protocol_path, parse_protocol
from alstrial.protocol.loader import protocol_from_mapping

# one of each kind: wrong scalar types, out of range, non-finite, empty and unhashable containers
HOSTILE: tuple[object, ...] = (
    "x",
    -1,
    10**30,
    math.nan,
    True,
    [],
    [[1, 2], {"a": 1}],
    {"a": 1},
    [{"code": ["W0"], "day": {"x": 1}}],
)
DELETE = object()


def _seed() -> dict[str, Any]:
    return tomllib.loads(default_protocol_path().read_text(encoding="utf-8"))


def _paths(value: object, prefix: tuple[object, ...] = ()) -> Iterator[tuple[object, ...]]:
    """Every location in the mapping: sections, list entries and leaves."""
    if prefix:
        yield prefix
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _paths(sub, (*prefix, key))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield from _paths(sub, (*prefix, i))


def _mutated(data: dict[str, Any], path: tuple[object, ...], new: object) -> dict[str, Any]:
    """``data`` with one location changed; only the containers on the way to it are copied."""
    out = dict(data)
    parent: Any = out
    for part in path[:-1]:
        child = parent[part]
        parent[part] = child = dict(child) if isinstance(child, dict) else list(child)
        parent = child
    if new is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = copy.deepcopy(new)
    return out


@pytest.mark.slow
def test_every_field_replaced_by_a_wrong_value_is_a_protocol_error() -> None:
    seed = _seed()
    paths = list(_paths(seed))
    assert len(paths) > 400  # the whole seed protocol is walked
    crashes: list[str] = []
    errors = accepted = 0
    for path in paths:
        for new in (*HOSTILE, DELETE):
            try:
                protocol_from_mapping(_mutated(seed, path, new))
                accepted += 1
            except ProtocolError as exc:
                assert exc.problems, "a protocol error with no problem listed"
                errors += 1
            except Exception as exc:  # anything but the project's own error is the defect being hunted
                crashes.append(f"{path} = {new!r:.40}: {type(exc).__name__}: {exc}")
    assert crashes == [], f"{len(crashes)} crashes, e.g.\n" + "\n".join(crashes[:20])
    assert errors > 0.8 * (errors + accepted)  # nearly every mutation is refused
    print(f"{len(paths)} locations × {len(HOSTILE) + 1} values: {errors} refused, {accepted} accepted, 0 crashes")


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        (("arms", 0, "ratio"), True, "arms[0].ratio"),
        (("sample_size",), 10**19, "sample_size"),
        (("endpoints", 0, "parameters", "threshold_points_per_month"), math.nan, "endpoints[0].parameters"),
        (("randomization", "block_multiples", 0), 10**6, "randomization.block_multiples"),
    ],
)
def test_values_the_sweep_found_accepted_are_refused(path: tuple[object, ...], value: object, where: str) -> None:
    with pytest.raises(ProtocolError) as info:
        protocol_from_mapping(_mutated(_seed(), path, value))
    assert any(p.where == where for p in info.value.problems), info.value.problems


def test_structures_nested_thousands_deep_are_refused() -> None:
    for depth in (50, 1000, 100_000):
        for opener, closer in (("[", "]"), ("{a=", "}")):
            text = "x = " + opener * depth + "1" + closer * depth + "\n"
            with pytest.raises(ProtocolError) as info:
                parse_protocol(text, source="deep.toml")
            assert info.value.problems


def test_a_deeply_nested_value_in_place_of_a_field_is_refused() -> None:
    deep: object = 1
    for _ in range(3000):
        deep = [deep]
    data = _seed()
    data["arms"][0]["ratio"] = deep
    with pytest.raises(ProtocolError, match=r"arms\[0\]\.ratio"):
        protocol_from_mapping(data)


_SEED_TEXT = default_protocol_path().read_text(encoding="utf-8")
_runner = CliRunner()


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start=st.integers(min_value=0, max_value=len(_SEED_TEXT)),
    length=st.integers(min_value=0, max_value=40),
    insert=st.text(st.characters(codec="utf-8"), max_size=30)
    | st.sampled_from(['"x"', "-1", "inf", "nan", "[]", "{}", "[[", "1e400", "true", "\n[arms]\n", "[" * 200]),
)
def test_protocol_check_answers_edited_files_with_exit_0_or_2(
    tmp_path: Path, start: int, length: int, insert: str
) -> None:
    """The seed file with a random span replaced by random text: a verdict, never a traceback."""
    path = tmp_path / "edited.toml"
    path.write_text(_SEED_TEXT[:start] + insert + _SEED_TEXT[start + length :], encoding="utf-8")
    result = _runner.invoke(app, ["protocol", "check", str(path)])
    assert result.exit_code in (0, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert "edited.toml" in result.output

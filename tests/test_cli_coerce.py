"""The fast command-line converter gives exactly what Typer's own (pydantic) converter gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer import _click as click
from typer._click.exceptions import BadParameter

from alstrial import cli
from alstrial.cli_coerce import FastRuntimeParam

SAMPLES: dict[Any, list[Any]] = {
    str: ["abc", "", " x ", "ünï", "1", "--x"],
    bool: [True, False],
    int: [
        *(0, 5, 2.0, "0", "7", "-3", "+5", "007", "99999999999999999999"),
        *("10_000", "_", "1__0", "٣", " 7", "3.0", "2.5", "abc", ""),
    ],
    float: [0.05, 1, "0.05", "1e-3", "-2.5", ".5", "5.", "1E5", "inf", "nan", "abc", "", " 1", "1_0", "١.٥", "1e"],
    Path: ["data.csv", "-", "", "."],
    list[str]: [("a", "b"), (), ["x"], ("a", "")],
}


def _params() -> list[tuple[str, click.Command, click.Parameter]]:
    found: list[tuple[str, click.Command, click.Parameter]] = []

    def walk(path: str, command: click.Command) -> None:
        for param in command.params:
            found.append((f"{path} {param.name}", command, param))
        for name, sub in getattr(command, "commands", {}).items():
            walk(f"{path} {name}", sub)

    for name, entry in cli.COMMANDS.items():
        walk(name, cli.load_command(name, entry))
    return found


PARAMS = _params()


def _outcome(convert: Any, value: Any, command: click.Command, param: click.Parameter) -> tuple[str, Any]:
    try:
        result = convert.coerce(value, param=param, ctx=click.Context(command))
    except BadParameter as exc:
        return "error", exc.format_message()
    return type(result).__name__, repr(result)  # repr: nan equals nan


def test_most_parameters_take_the_fast_path() -> None:
    fast = [p for _, _, p in PARAMS if isinstance(p._runtime_param, FastRuntimeParam)]  # type: ignore[attr-defined]
    assert len(fast) == len(PARAMS) > 250  # every parameter type in the CLI today has a fast path


@pytest.mark.parametrize(("label", "command", "param"), PARAMS, ids=[label for label, _, _ in PARAMS])
def test_fast_conversion_equals_typers(
    label: str, command: click.Command, param: click.Parameter, tmp_path: Path
) -> None:
    fast: FastRuntimeParam = param._runtime_param  # type: ignore[attr-defined]
    samples = [*SAMPLES[fast.annotation], None]
    if fast.annotation is Path:
        (tmp_path / "f.csv").write_text("a\n")
        samples += [str(tmp_path / "f.csv"), str(tmp_path), tmp_path / "missing", str(tmp_path / "missing")]
    for value in samples:
        assert _outcome(fast, value, command, param) == _outcome(fast.typer_param(), value, command, param), value


def test_bad_number_keeps_typers_message() -> None:
    (_, command, param), *_ = [p for p in PARAMS if p[0] == "stats cafs permutations"]
    assert _outcome(param._runtime_param, "-1", command, param) == (  # type: ignore[attr-defined]
        "error",
        "Invalid value for '--permutations': Input should be greater than or equal to 0",
    )

"""Every `alstrial stats` command fed hostile CSV files (hypothesis): a result or the project's error.

Each example writes a small CSV whose cells are mostly plausible and sometimes hostile (``inf``,
``1e400``, ``nan``, text, blanks), sometimes with a column missing or no rows at all, and runs
the command in-process with ``--json``. Allowed outcomes: exit 0 with JSON whose numbers are all
finite and whose p-values lie in [0, 1], or exit 2 with one ``error:`` line. A traceback, another
exit code or a non-finite figure fails. The commands write no files, so "nothing written on error"
is trivially true here; ``alsfrs score -o`` is fuzzed in ``tests/instruments``.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from alstrial.cli import app

HOSTILE = ("", "inf", "-inf", "nan", "1e400", "abc", "-1", "1e308", "NA", " ", '"', "0")
_runner = CliRunner()


def _number(lo: float, hi: float) -> st.SearchStrategy[str]:
    return st.floats(lo, hi, allow_nan=False).map(lambda x: f"{x:.3f}")


COLUMNS: dict[str, st.SearchStrategy[str]] = {
    "subj": st.sampled_from([f"s{i}" for i in range(1, 9)]),
    "arm": st.sampled_from(["PBO", "MSC"]),
    "visit": st.sampled_from(["W4", "W8", "W12"]),
    "y": _number(-15, 5),
    "time": _number(0.5, 12),
    "event": st.sampled_from(["0", "1"]),
    "change": _number(-20, 2),
    "age": _number(20, 70),
    "pre": _number(-2, 0),
    "post": _number(-2, 1),
    "base": _number(1, 100),
    "v1": _number(-10, 2),
    "v2": _number(-15, 2),
}

COMMANDS: dict[str, tuple[list[str], tuple[str, ...]]] = {
    "mmrm": (
        ["--response", "y", "--subject", "subj", "--visit", "visit", "--fixed", "arm + visit"],
        ("subj", "visit", "arm", "y"),
    ),
    "cafs": (
        ["--subject", "subj", "--arm", "arm", "--time", "time", "--event", "event", "--change", "change"],
        ("subj", "arm", "time", "event", "change"),
    ),
    "survival": (["--time", "time", "--event", "event", "--group", "arm"], ("time", "event", "arm", "age")),
    "responder": (
        ["--arm", "arm", "--pre-slope", "pre", "--post-slope", "post", "--covariates", "age"],
        ("arm", "pre", "post", "age"),
    ),
    "slope-model": (
        ["--subject", "subj", "--time", "time", "--score", "y", "--arm", "arm"],
        ("subj", "time", "y", "arm"),
    ),
    "biomarker": (["--arm", "arm", "--baseline", "base", "--post", "post", "--lloq", "2"], ("arm", "base", "post")),
    "mi": (
        ["--arm", "arm", "--baseline", "base", "--visits", "v1,v2", "--m", "2", "--seed", "1", "--methods", "mar"],
        ("arm", "base", "v1", "v2"),
    ),
}
EXTRA_OPTIONS: dict[str, list[list[str]]] = {
    "survival": [[], ["--covariates", "age"], ["--covariates", "arm"], ["--covariates", "age,arm"]],
    "mmrm": [[], ["--cov", "cs"]],
}


@st.composite
def csv_text(draw: st.DrawFn, columns: tuple[str, ...]) -> str:
    """Mostly valid rows; sometimes hostile cells, a missing column, no rows or a blank line."""
    hostile_rate = draw(st.sampled_from([0.0, 0.0, 0.05, 0.3]))
    header = list(columns)
    if draw(st.integers(0, 9)) == 0:
        header.remove(draw(st.sampled_from(header)))
    n = draw(st.sampled_from([0, 1, 2, 5, 12, 24]))
    lines = [",".join(header)]
    for _ in range(n):
        cells = []
        for col in header:
            hostile = hostile_rate and draw(st.floats(0, 1)) < hostile_rate
            cells.append(draw(st.sampled_from(HOSTILE)) if hostile else draw(COLUMNS[col]))
        lines.append(",".join(cells))
    if draw(st.integers(0, 19)) == 0:
        lines.insert(draw(st.integers(1, len(lines))), "")
    return "\n".join(lines) + "\n"


def _reject_constant(name: str) -> float:
    raise AssertionError(f"non-finite number {name} in the JSON output")


def _walk(value: object, where: str = "") -> list[str]:
    """Problems in a JSON answer: non-finite numbers, p-values outside [0, 1]."""
    found: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            found += _walk(v, f"{where}.{k}")
            if "p_value" in str(k) and isinstance(v, int | float) and not 0 <= v <= 1:
                found.append(f"{where}.{k} = {v}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _walk(v, f"{where}[{i}]")
    elif isinstance(value, float) and not math.isfinite(value):
        found.append(f"{where} = {value}")
    return found


def run_stats(tmp_path: Path, command: str, text: str, extra: list[str]) -> Any:
    """Run ``alstrial stats COMMAND`` on ``text`` and check the outcome; returns the Result."""
    data = tmp_path / "data.csv"
    data.write_text(text, encoding="utf-8")
    args, _ = COMMANDS[command]
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as on a terminal: a warning is printed, not raised
        result = _runner.invoke(app, ["stats", command, "--data", str(data), *args, *extra, "--json"])
    shown = f"{command} {extra}\n{text[:500]}\n→ {result.output[-800:]}"
    assert result.exception is None or isinstance(result.exception, SystemExit), f"{shown}\n{result.exception!r}"
    assert result.exit_code in (0, 2), shown
    assert "Traceback" not in result.output, shown
    if result.exit_code == 0:
        payload = json.loads(result.stdout, parse_constant=_reject_constant)
        assert _walk(payload) == [], shown
    else:
        assert result.stderr.startswith("error: "), shown
    return result


def _fuzzer(command: str, examples: int) -> Callable[..., None]:
    columns = COMMANDS[command][1]
    extras = EXTRA_OPTIONS.get(command, [[]])

    @settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(text=csv_text(columns), extra=st.sampled_from(extras))
    def fuzz(tmp_path: Path, text: str, extra: list[str]) -> None:
        run_stats(tmp_path, command, text, extra)

    return fuzz


test_mmrm_fuzz = pytest.mark.slow(_fuzzer("mmrm", 40))
test_cafs_fuzz = _fuzzer("cafs", 40)
test_survival_fuzz = _fuzzer("survival", 40)
test_responder_fuzz = _fuzzer("responder", 40)
test_slope_model_fuzz = pytest.mark.slow(_fuzzer("slope-model", 30))
test_biomarker_fuzz = _fuzzer("biomarker", 40)
test_mi_fuzz = pytest.mark.slow(_fuzzer("mi", 30))


# the cases issue 14 reported, kept as named examples
_MMRM_ROWS = "".join(f"s{i},W{v},{'AB'[i % 2]},{-i - v / 4}\n" for i in range(1, 7) for v in (4, 8))
KNOWN = [
    ("mmrm", "subj,visit,arm,y\n", [], "no observed 'y'"),
    ("mmrm", "subj,visit,arm,y\n" + _MMRM_ROWS + "s7,W4,A,inf\n", [], "finite"),
    # found by tests/commands/test_stats_without_pandas.py: two equal responses, one fixed effect,
    # residuals all 0 (a Cholesky traceback before, then an unbounded likelihood)
    ("mmrm", "subj,visit,arm,y\ns1,W4,PBO,-7.098\ns2,W4,PBO,-7.098\n", [], "fit the response exactly"),
    ("survival", "time,event,arm,age\n1,0,PBO,50\ninf,1,MSC,40\n2,1,PBO,45\n3,0,MSC,60\n", [], "finite"),
    (
        "survival",
        "time,event,arm,age\n1,0,PBO,50\n4,1,MSC,40\n2,1,PBO,45\n3,0,MSC,60\n",
        ["--covariates", "arm"],
        "both",
    ),
    ("cafs", "subj,arm,time,event,change\n1,PBO,1,0,\n2,MSC,2,0,\n3,PBO,3,1,\n4,MSC,2,0,\n", [], "change"),
]


@pytest.mark.parametrize(("command", "text", "extra", "message"), KNOWN)
def test_reported_cases_are_clear_errors(
    tmp_path: Path, command: str, text: str, extra: list[str], message: str
) -> None:
    result = run_stats(tmp_path, command, text, extra)
    assert result.exit_code == 2 and message in result.stderr, result.stderr


def test_survival_without_events_gives_curves_only_and_says_so(tmp_path: Path) -> None:
    text = "time,event,arm\n1,0,PBO\n4,0,MSC\n2,0,PBO\n3,0,MSC\n"
    result = run_stats(tmp_path, "survival", text, [])
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert out["logrank"] is None and out["cox_model"] is None and out["cox"] == []
    (tmp_path / "d.csv").write_text(text, encoding="utf-8")
    shown = _runner.invoke(app, ["stats", "survival", "--data", str(tmp_path / "d.csv"), "--time", "time",
                                 "--event", "event", "--group", "arm"])  # fmt: skip
    assert "no events: the log-rank test and the Cox model are not defined" in shown.stdout

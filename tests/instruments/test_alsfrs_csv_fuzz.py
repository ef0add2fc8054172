"""`alstrial alsfrs score -o OUT` fed hostile files (hypothesis): a scored file or exit 2, nothing written.

Files are built from lines that are mostly valid visits and sometimes hostile: blank lines, cells
``inf``/``nan``/``1e400``/text/NUL, rows too long or too short, a missing or duplicated column, a
BOM, bytes that are not UTF-8. Allowed: exit 0 with OUT written, or exit 2 with ``error:`` on
stderr and OUT absent. Anything else (a traceback, another exit code, a partial OUT) fails.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from alstrial.cli import app

ITEMS = ("q1", "q2", "q3", "q4", "q5a", "q5b", "q6", "q7", "q8", "q9", "q10", "q11", "q12")
HEADER = ("id", *ITEMS, "months_since_onset")
HOSTILE = ("", "inf", "nan", "1e400", "-1", "5", "2.5", "abc", "\x00", " 3", '"', "NA", "4" * 400)
_runner = CliRunner()


@st.composite
def alsfrs_file(draw: st.DrawFn) -> bytes:
    header = list(HEADER)
    change = draw(st.sampled_from(["none", "none", "drop", "duplicate", "blank-first"]))
    if change == "drop":
        header.remove(draw(st.sampled_from(header)))
    elif change == "duplicate":
        header.append(draw(st.sampled_from(header)))
    lines = [",".join(header)]
    hostile_rate = draw(st.sampled_from([0.0, 0.0, 0.03, 0.3]))
    for n in range(draw(st.integers(0, 12))):
        cells = []
        for col in header:
            if hostile_rate and draw(st.floats(0, 1)) < hostile_rate:
                cells.append(draw(st.sampled_from(HOSTILE)))
            elif col == "id":
                cells.append(str(n))
            elif col == "q5b":
                cells.append("")
            elif col == "months_since_onset":
                cells.append(draw(st.sampled_from(["", "12", "30.5"])))
            else:
                cells.append(str(draw(st.integers(0, 4))))
        if draw(st.integers(0, 19)) == 0:
            cells = cells[: draw(st.integers(0, len(cells)))] if draw(st.booleans()) else [*cells, "extra"]
        lines.append(",".join(cells))
    if change == "blank-first":
        lines.insert(0, "")
    for _ in range(draw(st.integers(0, 2))):
        lines.insert(draw(st.integers(0, len(lines))), "")
    raw = ("\n".join(lines) + "\n").encode("utf-8")
    prefix = draw(st.sampled_from([b"", b"", b"\xef\xbb\xbf", b"\xff\xfe"]))
    return prefix + raw


def _score(tmp_path: Path, raw: bytes) -> None:
    src = tmp_path / "in.csv"
    out = tmp_path / "out.csv"
    out.unlink(missing_ok=True)
    src.write_bytes(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        result = _runner.invoke(app, ["alsfrs", "score", str(src), "-o", str(out)])
    shown = f"{raw[:300]!r}\n→ {result.output[-600:]}"
    assert result.exception is None or isinstance(result.exception, SystemExit), f"{shown}\n{result.exception!r}"
    assert result.exit_code in (0, 2), shown
    if result.exit_code == 0:
        assert out.is_file(), shown
    else:
        assert result.stderr.startswith("error: "), shown
        assert not out.exists(), "an output file was written for a refused input"
        assert not any(p.name.startswith("out.csv") for p in tmp_path.iterdir()), "a temporary output was left"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=alsfrs_file())
def test_alsfrs_score_answers_hostile_files_with_a_file_or_exit_2(tmp_path: Path, raw: bytes) -> None:
    _score(tmp_path, raw)


def test_files_of_blank_lines_are_refused_as_empty(tmp_path: Path) -> None:
    for raw in (b"", b"\n", b"\n\n\n", b"\r\n\r\n", b"  \n\t\n"):
        _score(tmp_path, raw)

"""`alstrial alsfrs …` through the real entry point."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from alstrial.cli import app
from alstrial.instruments.alsfrs_csv import example_csv_text

runner = CliRunner()
HEADER = "id,site,q1,q2,q3,q4,q5a,q5b,q6,q7,q8,q9,q10,q11,q12"
PROBLEM_LINE = re.compile(r"^row \d+, column \S+: value .+ — .+$")


def write(tmp_path: Path, text: str, name: str = "in.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_score_example_to_stdout() -> None:
    example = runner.invoke(app, ["alsfrs", "example"])
    assert example.exit_code == 0
    assert example.stdout.startswith("participant_id,site,visit,visit_date,months_since_onset,q1")


def test_score_writes_output_with_passthrough_columns_unchanged(tmp_path: Path) -> None:
    src = write(
        tmp_path,
        "id,site,visit_date,months_since_onset,q1,q2,q3,q4,q5a,q5b,q6,q7,q8,q9,q10,q11,q12,note\n"
        "007,01,2024-03-04,14.2,4,4,4,3,3,,3,3,2,2,4,4,4,NA\n"
        "008,02,2024-03-05,,2,2,1,4,,4,4,4,4,4,3,4,4,\n",
    )
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["alsfrs", "score", str(src), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "scored 2 visit(s)" in result.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].endswith(",note,total,bulbar,fine_motor,gross_motor,respiratory,kings_stage,mitos_stage,delta_fs")
    # Hand-scored: row 1 total 40, 2 regions (upper + lower), ΔFS = 8 / 14.2; row 2 gastrostomy → 4A,
    # swallowing 1 → MiToS 1, no months → blank ΔFS.
    assert lines[1] == "007,01,2024-03-04,14.2,4,4,4,3,3,,3,3,2,2,4,4,4,NA,40,12,9,7,12,2,0,0.5634"
    assert lines[2] == "008,02,2024-03-05,,2,2,1,4,,4,4,4,4,4,3,4,4,,40,5,12,12,11,4A,1,"


def test_score_to_stdout_is_parseable_csv(tmp_path: Path) -> None:
    src = write(tmp_path, HEADER + "\nA,1,4,4,4,4,4,,4,4,4,4,4,4,4\nB,1,1,2,1,1,,1,1,0,0,0,1,2,1\n")
    result = runner.invoke(app, ["alsfrs", "score", str(src)])
    assert result.exit_code == 0
    df = pd.read_csv(io.StringIO(result.stdout), dtype=str, keep_default_na=False)
    assert df["total"].tolist() == ["48", "11"]
    assert df["kings_stage"].tolist() == ["0", "4B"]
    assert df["mitos_stage"].tolist() == ["0", "4"]
    assert "delta_fs" not in df


def test_invalid_rows_exit_2_list_every_problem_and_write_nothing(tmp_path: Path) -> None:
    src = write(
        tmp_path,
        HEADER + "\nA,1,4,4,4,4,2.5,,4,4,4,4,4,4,4\nB,1,4,4,4,4,4,,4,4,4,4,4,4,4\nC,1,4,,4,4,4,3,4,4,4,9,4,4,abc\n",
    )
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["alsfrs", "score", str(src), "-o", str(out)])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == f"error: {src}: 5 problem(s) in 2 of 3 row(s); nothing was written"
    assert lines[1:] == [
        "row 1, column q5a: value '2.5' — item 5a (Cutting food and handling utensils, without gastrostomy)"
        " must be a whole number 0–4 (4 = normal), not a fraction",
        "row 3, column q2: value '' — item 2 (Salivation) is missing",
        "row 3, column q5a/q5b: value 'q5a=4, q5b=3' — both item 5a (without gastrostomy) and 5b (with "
        "gastrostomy) are answered; answer exactly one",
        "row 3, column q9: value '9' — item 9 (Climbing stairs) must be a whole number 0–4 (4 = normal);"
        " the value is out of range",
        "row 3, column q12: value 'abc' — item 12 (Respiratory insufficiency) must be a whole number 0–4 "
        "(4 = normal); the value is not a number",
    ]
    assert all(PROBLEM_LINE.match(line) for line in lines[1:])
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]  # no temporary file left behind
    assert "Traceback" not in result.output


def test_invalid_rows_do_not_overwrite_an_existing_output(tmp_path: Path) -> None:
    src = write(tmp_path, HEADER + "\nA,1,4,4,4,4,4,,4,4,4,4,4,4,5\n")
    out = write(tmp_path, "previous results\n", "out.csv")
    result = runner.invoke(app, ["alsfrs", "score", str(src), "-o", str(out)])
    assert result.exit_code == 2
    assert out.read_text() == "previous results\n"


def test_bad_months_value_is_a_problem(tmp_path: Path) -> None:
    src = write(tmp_path, "months_since_onset," + HEADER + "\n0," + "A,1,4,4,4,4,4,,4,4,4,4,4,4,4\n")
    result = runner.invoke(app, ["alsfrs", "score", str(src)])
    assert result.exit_code == 2
    assert "row 1, column months_since_onset: value '0' — months since symptom onset must be" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("id,q1,q2\nA,4,4\n", "missing required ALSFRS-R column(s): q3, q4, q5a or q5b, q6, q7"),
        ("", "is empty"),
        ("id,q1,q1\n", "duplicate column name(s) in the header: 'q1'"),
        (HEADER.replace("q3", "Q3") + "\n", "case-sensitive: rename 'Q3' → 'q3'"),
        (HEADER + ",total\n", "already has column(s) 'total'"),
        (
            HEADER + "\nA,1,4,4,4,4,4,,4,4,4,4,4,4,4,extra,more\n",
            "not a well-formed CSV file: row 1 has 17 fields but the header names 15 columns",
        ),
    ],
)
def test_unusable_files_exit_2_with_a_clear_message(tmp_path: Path, content: str, message: str) -> None:
    src = write(tmp_path, content)
    result = runner.invoke(app, ["alsfrs", "score", str(src), "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert not (tmp_path / "out.csv").exists()
    assert "Traceback" not in result.output


def test_missing_directory_and_non_utf8_inputs(tmp_path: Path) -> None:
    result = runner.invoke(app, ["alsfrs", "score", str(tmp_path / "nope.csv")])
    assert (result.exit_code, result.stderr) == (2, f"error: input file not found: {tmp_path / 'nope.csv'}\n")
    result = runner.invoke(app, ["alsfrs", "score", str(tmp_path)])
    assert result.exit_code == 2 and "is a directory" in result.stderr
    latin = tmp_path / "latin.csv"
    latin.write_bytes((HEADER + ",name\nA,1,4,4,4,4,4,,4,4,4,4,4,4,4,Jos\xe9\n").encode("latin-1"))
    result = runner.invoke(app, ["alsfrs", "score", str(latin)])
    assert result.exit_code == 2 and "not UTF-8" in result.stderr


def test_output_folder_must_exist(tmp_path: Path) -> None:
    src = write(tmp_path, HEADER + "\nA,1,4,4,4,4,4,,4,4,4,4,4,4,4\n")
    result = runner.invoke(app, ["alsfrs", "score", str(src), "-o", str(tmp_path / "no" / "out.csv")])
    assert result.exit_code == 2 and "output folder does not exist" in result.stderr


def test_excel_bom_and_header_only_file(tmp_path: Path) -> None:
    src = tmp_path / "bom.csv"
    src.write_bytes(("\ufeff" + HEADER + "\nA,1,4,4,4,4,4,,4,4,4,4,4,4,3\n").encode("utf-8"))
    result = runner.invoke(app, ["alsfrs", "score", str(src)])
    assert result.exit_code == 0 and result.stdout.splitlines()[1].endswith(",47,12,12,12,11,4B,0")
    empty = write(tmp_path, HEADER + "\n", "header_only.csv")
    result = runner.invoke(app, ["alsfrs", "score", str(empty)])
    assert result.exit_code == 0
    assert result.stdout == HEADER + ",total,bulbar,fine_motor,gross_motor,respiratory,kings_stage,mitos_stage\n"


def test_items_table() -> None:
    result = runner.invoke(app, ["alsfrs", "items"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for text in ("Speech", "q5b", "Respiratory insufficiency", "Loss of useful speech", "respiratory"):
        assert text in result.stdout


def test_example_can_be_saved(tmp_path: Path) -> None:
    out = tmp_path / "example.csv"
    assert runner.invoke(app, ["alsfrs", "example", "-o", str(out)]).exit_code == 0
    scored = runner.invoke(app, ["alsfrs", "score", str(out)])
    assert scored.exit_code == 0
    df = pd.read_csv(io.StringIO(scored.stdout))
    assert len(df) >= 5 and df["delta_fs"].notna().all()
    assert set(df["kings_stage"].astype(str)) >= {"4A", "4B"}


def _alstrial() -> str:
    exe = Path(sys.executable).parent / "alstrial"
    if not exe.exists():
        pytest.skip("alstrial console script not installed next to this Python")
    return str(exe)


def test_console_script_end_to_end(tmp_path: Path) -> None:
    exe = _alstrial()
    example = write(tmp_path, example_csv_text(), "ex.csv")
    ok = subprocess.run(
        [exe, "alsfrs", "score", str(example), "-o", str(tmp_path / "out.csv")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "out.csv").read_text().count("\n") == example.read_text().count("\n")
    bad = write(tmp_path, HEADER + "\nA,1,4,4,4,4,4,,4,4,4,4,4,4,7\n", "bad.csv")
    failed = subprocess.run(
        [exe, "alsfrs", "score", str(bad), "-o", str(tmp_path / "bad_out.csv")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert failed.returncode == 2
    assert "row 1, column q12: value '7' — item 12 (Respiratory insufficiency)" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert not (tmp_path / "bad_out.csv").exists()

"""`alstrial demo` through the real entry point: in process, as a subprocess, and with bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from alstrial.cli import app

WIDE = {"COLUMNS": "400", "NO_COLOR": "1"}  # rich must not wrap the printed paths


def test_demo_runs_and_prints_the_report_path(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--seed", "5", "--n", "12"], env=WIDE)
    assert result.exit_code == 0, result.output
    report = (out / "report.html").resolve()
    assert f"report:   {report}" in result.stdout
    assert report.stat().st_size > 0
    results = json.loads((out / "results.json").read_text())
    assert results["consort"]["randomized"] == 12 and results["trial"]["seed"] == 5
    assert f"randomized {results['consort']['randomized']}" in result.stdout
    assert "audit trail:" in result.stdout and "verified" in result.stdout


def test_a_bad_protocol_path_exits_2_with_a_message_and_keeps_the_old_demo(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "trial.db").write_text("an earlier demo")
    missing = tmp_path / "nope.toml"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--protocol", str(missing), "--n", "4"], env=WIDE)
    assert result.exit_code == 2
    assert "demo failed" in result.output and "nope.toml" in result.output
    assert "Traceback" not in result.output
    assert (out / "trial.db").read_text() == "an earlier demo"


def test_n_below_two_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--n", "1"], env=WIDE)
    assert result.exit_code == 2
    assert "--n" in result.output


def test_demo_as_a_subprocess_writes_into_the_working_folder(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "alstrial"
    proc = subprocess.run(
        [str(exe), "demo", "--n", "12"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "400", "NO_COLOR": "1", "HOME": str(tmp_path)},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = tmp_path / "demo-output" / "report.html"
    assert report.is_file()
    assert str(report.resolve()) in proc.stdout
    assert "Participant flow" in report.read_text()

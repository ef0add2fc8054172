from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from alstrial.cli import app

runner = CliRunner()


def test_calibration_table_exit_zero() -> None:
    res = runner.invoke(app, ["simulate", "--calibration", "--n", "400", "--seed", "2"])
    assert res.exit_code == 0, res.output
    assert "baseline ALSFRS-R" in res.output and "MC SE" in res.output
    assert "targets within tolerance" in res.output


def test_cohort_to_csv_with_overrides(tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        [
            "simulate",
            "--n",
            "40",
            "--seed",
            "1",
            "--effect-slope",
            "0.5",
            "--dropout-mechanism",
            "mnar",
            "--out",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    p = pd.read_csv(tmp_path / "participants.csv")
    assert len(p) == 40 and {"arm", "baseline_total", "dropout_reason"} <= set(p.columns)


def test_bad_input_exit_2_without_traceback() -> None:
    res = runner.invoke(app, ["simulate", "--dropout-mechanism", "sometimes"])
    assert res.exit_code == 2
    assert "Traceback" not in res.output


def test_entry_point_subprocess() -> None:
    exe = Path(sys.executable).with_name("alstrial")
    res = subprocess.run([str(exe), "simulate", "--n", "0"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert "invalid value for --n" in res.stderr and "Traceback" not in res.stderr

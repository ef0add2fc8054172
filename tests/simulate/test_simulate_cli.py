from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from alstrial.cli import app

runner = CliRunner()


def test_calibration_table_exit_zero() -> None:
    res = runner.invoke(app, ["simulate", "--calibration", "--n", "400", "--seed", "2"])
    assert res.exit_code == 0, res.output
    out = res.output
    assert "baseline ALSFRS-R" in out and "MC interval" in out and "source" in out
    assert "placebo responder rate" in out and "Cudkowicz 2022" in out
    assert "pass" in out and "targets within tolerance" in out
    assert "NO PUBLISHED SOURCE" in out  # rows without a source say so
    assert "Placebo by baseline ALSFRS-R" in out and ">= 35" in out and "<= 25" in out
    # the reliability target shows its published interval at its own precision; Miano 2004 is context
    assert "Kaufmann 2007" in out and "in 0.92–0.98" in out and "in 18.9–37.8" in out
    assert "context" in out and "1 CONTEXT rows" in out and "Screen failures: simulated" in out


def _natural_history_file(path: Path, *, months: bool = False) -> Path:
    """A small long-format ALSFRS-R file as a statistician would export it."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(40):
        start, slope = rng.integers(28, 44), -abs(rng.normal(0.9, 0.5))
        for k in range(8):
            total = int(np.clip(round(start + slope * k + rng.normal(0, 0.8)), 0, 48))
            t = k if months else round(k * 30.4375)
            rows.append(
                {
                    "subject": f"S{i:03d}",
                    "months" if months else "day": t,
                    "total": total,
                    "fine_motor": min(12, max(0, total // 4)),
                }
            )
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("months", [False, True])
def test_against_compares_a_users_file_on_the_same_statistics(tmp_path: Path, months: bool) -> None:
    f = _natural_history_file(tmp_path / "nh.csv", months=months)
    res = runner.invoke(app, ["simulate", "--against", str(f), "--n", "200", "--seed", "1"])
    assert res.exit_code == 0, res.output
    for stat in (
        "slope, points/month (mean)",
        "unchanged consecutive totals",
        "residual SD",
        "quadratic term",
        "fine_motor <= 2 at totals <= 25",
    ):
        assert stat in res.output
    assert "40 subjects" in res.output


def test_against_result_values(tmp_path: Path) -> None:
    from alstrial.simulate.against import compare_with_file

    f = _natural_history_file(tmp_path / "nh.csv")
    r = compare_with_file(f, n=200, seed=1).table.set_index("statistic")
    data = pd.read_csv(f)
    slopes = [np.polyfit(g["day"] / 30.4375, g["total"], 1)[0] for _, g in data.groupby("subject")]
    assert r.loc["slope, points/month (mean)", "data"] == pytest.approx(np.mean(slopes))
    assert r.loc["participants with >= 4 totals", "data"] == 40
    assert np.isfinite(r.loc["slope, points/month (mean)", "z"])


def test_against_bad_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("subject,day,total\nA,0,40\nA,30,x\n")
    res = runner.invoke(app, ["simulate", "--against", str(bad)])
    assert res.exit_code == 2 and "row 3, column total" in res.output and "Traceback" not in res.output
    nocol = tmp_path / "nocol.csv"
    nocol.write_text("who,when,score\nA,0,40\n")
    res = runner.invoke(app, ["simulate", "--against", str(nocol)])
    assert res.exit_code == 2 and "no subject column" in res.output
    res = runner.invoke(app, ["simulate", "--against", str(tmp_path / "missing.csv")])
    assert res.exit_code == 2 and "does not exist" in res.output


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

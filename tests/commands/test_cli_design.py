"""`alstrial design power` and `design params` through the real entry point."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alstrial.cli import app

runner = CliRunner()
SMALL = ["--grid", "effect=0,1", "--grid", "participants=30", "--grid", "followup=20"]


def test_power_prints_the_table_and_writes_every_output(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["design", "power", *SMALL, "--reps", "2", "--analyses", "responder,cafs", "--executor", "inprocess"]
    result = runner.invoke(app, [*args, "--seed", "4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Simulated rejection rate" in result.output and "(type I)" in result.output
    assert "Design comparison" in result.output
    for name in ("power.json", "replicates.parquet", "power_curves.png", "designs.png", "designs.csv"):
        assert (out / name).stat().st_size > 0, name
    records = json.loads((out / "power.json").read_text())
    assert [r["scenario"]["effect"] for r in records] == [0, 0, 1, 1]
    assert (out / "power_curves.png").read_bytes()[:4] == b"\x89PNG"
    # a rerun reads everything back
    again = runner.invoke(app, [*args, "--seed", "4", "--out", str(out)])
    assert "0 trials simulated now, 4 read back" in again.output
    assert json.loads((out / "power.json").read_text()) == records


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--grid", "sample=1,2"], "unknown grid parameter 'sample'"),
        (["--grid", "dropout=often"], "expected one of mcar, mar, mnar"),
        (["--analyses", "mmrm,anova"], "unknown analysis 'anova'"),
        (["--executor", "threads"], "expected one of inprocess, processes, dask"),
        (["--scheduler", "tcp://127.0.0.1:8786"], "--scheduler needs --executor dask"),
        (["--reps", "0"], "invalid value 0 for --reps"),
        (["--target-power", "1.5"], "target power"),
        (["--target-power", "0.8", "--grid", "participants=10,20"], "participants is what --target-power searches"),
    ],
)
def test_bad_input_is_refused_by_name_and_writes_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["design", "power", "--out", str(out), "--executor", "inprocess", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not out.exists()


def test_params_lists_design_parameters_and_analyses() -> None:
    result = runner.invoke(app, ["design", "params"])
    assert result.exit_code == 0, result.output
    for word in ("participants", "enrich_progression", "dropout.base_per_month", "mmrm_satterthwaite", "slope"):
        assert word in result.output


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    """SIGINT in the middle of a run, as a user's Ctrl-C; the rerun computes only what is missing.

    The run is frozen (SIGSTOP) as soon as its first chunk is on disk and the SIGINT is delivered as it
    resumes, so the interruption lands mid-run however fast the trials are (a fast machine finished
    all of them within one polling interval, and the SIGINT hit the writing of the outputs).
    """
    exe = str(Path(sys.executable).parent / "alstrial")
    reps = 20
    total = 2 * reps  # SMALL has two scenarios
    args = ["design", "power", *SMALL, "--reps", str(reps), "--chunk", "1", "--analyses", "cafs"]
    args += ["--executor", "inprocess"]
    whole = subprocess.run([exe, *args, "--out", str(tmp_path / "whole")], capture_output=True, text=True, timeout=600)
    assert whole.returncode == 0, whole.stderr
    out = tmp_path / "killed"
    proc = subprocess.Popen([exe, *args, "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300

    def stored() -> list[Path]:
        return list((out / "chunks").glob("*.parquet")) if (out / "chunks").exists() else []

    while not stored():
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended before it could be interrupted"
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGSTOP)
    os.kill(proc.pid, signal.SIGINT)
    os.kill(proc.pid, signal.SIGCONT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "run the same command again to resume" in err
    assert not (out / "power.json").exists()
    done = len(stored())
    assert 1 <= done < total
    resumed = subprocess.run([exe, *args, "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{total - done} trials simulated now, {done} read back" in resumed.stdout
    assert (out / "power.json").read_text() == (tmp_path / "whole" / "power.json").read_text()


def test_default_chunks_are_a_quarter_of_the_replicates_so_small_runs_use_every_worker(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["design", "power", *SMALL, "--reps", "8", "--analyses", "cafs", "--executor", "inprocess"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert len(list((out / "chunks").glob("*.parquet"))) == 2 * 4  # two scenarios, 8 replicates in chunks of 2

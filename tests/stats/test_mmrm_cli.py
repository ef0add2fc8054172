"""`alstrial stats mmrm` through the real entry point (CliRunner and a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alstrial.cli import app

DATA = Path(__file__).parents[1] / "data" / "fev_data.csv"
BASE = ["stats", "mmrm", "--data", str(DATA), "--response", "FEV1", "--subject", "USUBJID", "--visit", "AVISIT"]


def test_cli_json_main_model() -> None:
    args = [*BASE, "--fixed", "RACE + SEX + ARMCD*AVISIT", "--cov", "us", "--ref", "SEX=Male", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    terms = {c["term"]: c for c in out["coefficients"]}
    assert set(terms["ARMCDTRT"]) == {"term", "estimate", "std_error", "df", "statistic", "p_value"}
    assert terms["ARMCDTRT"]["estimate"] == pytest.approx(3.7745, abs=1e-3)  # validation/reference/mmrm_sas.csv
    assert out["minus2_log_likelihood"] == pytest.approx(3386.44987, abs=1e-5)
    assert out["aic"] == pytest.approx(3406.44988, abs=1e-4)
    assert out["bic"] == pytest.approx(3439.28191, abs=1e-4)
    assert out["converged"] is True
    assert (out["n_subjects"], out["n_observations"]) == (197, 537)
    assert out["covariance"][0][0] == pytest.approx(40.555481, abs=5e-3)


def test_cli_readable_summary_and_options() -> None:
    args = [*BASE, "--fixed", "ARMCD", "--cov", "ar1", "--df", "kenward-roger", "--method", "reml"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Mixed model for repeated measures" in result.stdout
    assert "ARMCDTRT" in result.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--fixed", "AGE"], "unknown column"),
        (["--cov", "un"], "invalid value for cov"),
        (["--ref", "RACE"], "--ref expects COLUMN=LEVEL"),
        (["--fixed", "RACE", "--ref", "RACE=Martian"], "invalid reference level"),
        (["--fixed", "RACE +"], "ends unexpectedly"),
    ],
)
def test_cli_bad_input_exits_2(extra: list[str], message: str) -> None:
    result = CliRunner().invoke(app, [*BASE, *extra])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_subprocess_bad_response() -> None:
    exe = Path(sys.executable).parent / "alstrial"
    args = [str(exe), *BASE]
    args[args.index("FEV1")] = "RACE"
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "response column 'RACE' must be numeric" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_covariance_choices_match_the_engine() -> None:
    from alstrial.commands.stats_mmrm import COV_CHOICES
    from alstrial.stats.mmrm import COV_TYPES

    assert COV_CHOICES == COV_TYPES

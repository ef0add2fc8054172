"""`alstrial stats cafs|survival|responder|slope-model|biomarker` through the real entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from alstrial.cli import app

DATA = Path(__file__).resolve().parents[1] / "data"
runner = CliRunner()


def _json(args: list[str]) -> dict:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture()
def cafs_csv(tmp_path: Path) -> Path:
    path = tmp_path / "cafs.csv"
    pd.DataFrame(
        {
            "id": ["A", "B", "C", "D"],
            "arm": ["TRT", "PBO", "TRT", "PBO"],
            "time": [10, 12, 12, 6],
            "died": [1, 0, 0, 1],
            "chg": [-8, -5, -2, -1],
        }
    ).to_csv(path, index=False)
    return path


def test_cafs_json(cafs_csv: Path) -> None:
    out = _json(
        [
            "stats",
            "cafs",
            "--data",
            str(cafs_csv),
            "--subject",
            "id",
            "--arm",
            "arm",
            "--time",
            "time",
            "--event",
            "died",
            "--change",
            "chg",
            "--permutations",
            "500",
            "--seed",
            "1",
            "--json",
        ]
    )
    assert out["statistic"] == 2.0  # hand-scored: U = A -1, B +1, C +3, D -3; TRT = A + C
    assert out["variance"] == pytest.approx(20 / 3)
    assert out["z"] == pytest.approx(2 / np.sqrt(20 / 3))
    assert out["mean_rank"] == {"PBO": 2.0, "TRT": 3.0}
    assert 0 < out["permutation_p_value"] <= 1 and out["seed"] == 1


def test_survival_json_matches_r() -> None:
    out = _json(
        [
            "stats",
            "survival",
            "--data",
            str(DATA / "lung.csv"),
            "--time",
            "time",
            "--event",
            "status",
            "--group",
            "sex",
            "--covariates",
            "age",
            "--ties",
            "breslow",
            "--json",
        ]
    )
    assert out["logrank"]["chisq"] == pytest.approx(10.3267419549, abs=1e-6)
    cox = {row["term"]: row for row in out["cox"]}
    assert cox["sex[2]"]["estimate"] == pytest.approx(-0.512564791519, abs=1e-6)
    assert cox["age"]["estimate"] == pytest.approx(0.0170128891984, abs=1e-6)
    km = out["km"]["1"]
    assert set(km["table"][0]) >= {"time", "at_risk", "events", "survival", "std_error", "ci_lower", "ci_upper"}
    assert km["median"] == 270.0


def test_survival_strata_matches_r_survdiff() -> None:
    # validation/survival/outputs/logrank.csv: survdiff(Surv(futime, fustat) ~ rx + strata(resid.ds), ovarian)
    args = ["stats", "survival", "--data", str(DATA / "ovarian.csv"), "--time", "futime", "--event", "fustat"]
    out = _json([*args, "--group", "rx", "--strata", "resid.ds", "--json"])
    assert out["logrank"]["chisq"] == pytest.approx(1.27964345120336, abs=1e-6)
    assert out["logrank"]["p_value"] == pytest.approx(0.257965340027947, abs=1e-6)
    unstratified = _json([*args, "--group", "rx", "--json"])
    assert unstratified["logrank"]["chisq"] == pytest.approx(1.06273986129, abs=1e-6)


def test_responder_from_long_data(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(120):
        arm = "MSC" if i % 2 else "PBO"
        pre = rng.normal(-1.2, 0.3)
        post = pre + (rng.normal(1.6, 0.8) if (arm == "MSC" and rng.random() < 0.5) else rng.normal(0, 0.5))
        base = rng.normal(32, 5)
        for day in (-91.3125, 0.0):
            rows.append((i, arm, day, base + pre * day / 30.4375, "limb" if i % 3 else "bulbar"))
        for day in (91.3125, 196.0):
            rows.append((i, arm, day, base + post * day / 30.4375, "limb" if i % 3 else "bulbar"))
    path = tmp_path / "long.csv"
    pd.DataFrame(rows, columns=["id", "arm", "day", "total", "site"]).to_csv(path, index=False)
    out = _json(
        [
            "stats",
            "responder",
            "--data",
            str(path),
            "--arm",
            "arm",
            "--subject",
            "id",
            "--day",
            "day",
            "--score",
            "total",
            "--covariates",
            "site",
            "--reference",
            "PBO",
            "--json",
        ]
    )
    assert out["arms"] == ["PBO", "MSC"] and out["n"] == 120
    assert out["odds_ratio"] > 1 and out["ci_lower"] < out["odds_ratio"] < out["ci_upper"]
    assert {t["term"] for t in out["terms"]} == {"intercept", "arm[MSC]", "site[limb]", "pre_slope"}
    props = {p["arm"]: p for p in out["proportions"]}
    assert props["MSC"]["proportion"] > props["PBO"]["proportion"]


def test_slope_model_and_biomarker_json(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    long = pd.DataFrame(
        [(i, i % 2, m, 35 - m + 0.3 * m * (i % 2) + rng.normal(0, 1)) for i in range(60) for m in range(6)],
        columns=["id", "arm", "month", "score"],
    )
    long.to_csv(tmp_path / "long.csv", index=False)
    out = _json(
        [
            "stats",
            "slope-model",
            "--data",
            str(tmp_path / "long.csv"),
            "--subject",
            "id",
            "--time",
            "month",
            "--score",
            "score",
            "--arm",
            "arm",
            "--json",
        ]
    )
    assert out["ci_lower"] < out["slope_difference"] < out["ci_upper"]
    bio = pd.DataFrame({"arm": [0, 1] * 20, "b": rng.lognormal(3, 0.4, 40)})
    bio["p"] = (bio["b"] * rng.lognormal(0, 0.2, 40)).astype(object)
    bio.loc[0, "p"] = "<LLOQ"
    bio.to_csv(tmp_path / "bio.csv", index=False)
    out = _json(
        [
            "stats",
            "biomarker",
            "--data",
            str(tmp_path / "bio.csv"),
            "--arm",
            "arm",
            "--baseline",
            "b",
            "--post",
            "p",
            "--lloq",
            "5",
            "--json",
        ]
    )
    assert out["n_below_lloq"] >= 1 and out["ratio"] > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--event", "nope"], "column(s) 'nope' not found"),
        (["--event", "chg"], "event column 'chg' must be 0/1, found -8.0"),
    ],
)
def test_bad_data_exits_2_without_traceback(cafs_csv: Path, args: list[str], message: str) -> None:
    base = ["stats", "cafs", "--data", str(cafs_csv), "--arm", "arm", "--time", "time", "--change", "chg"]
    result = runner.invoke(app, [*base, *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["stats", "survival", "--data", str(tmp_path / "no.csv"), "--time", "t", "--event", "e"]
    )
    assert result.exit_code == 2 and "does not exist" in result.output


def test_responder_help_documents_json_keys() -> None:
    result = runner.invoke(app, ["stats", "responder", "--help"])
    assert result.exit_code == 0 and "odds_ratio" in result.output and "proportions" in result.output


def test_subprocess_entry_point() -> None:
    exe = Path(sys.executable).with_name("alstrial")
    proc = subprocess.run(
        [
            str(exe),
            "stats",
            "survival",
            "--data",
            str(DATA / "ovarian.csv"),
            "--time",
            "futime",
            "--event",
            "fustat",
            "--group",
            "rx",
            "--covariates",
            "age",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["logrank"]["chisq"] == pytest.approx(1.06273986129, abs=1e-6)
    # validation/survival/outputs/cox.csv, ovarian rx + age (efron): -0.803973012665, 0.147326595469
    assert [round(r["estimate"], 9) for r in out["cox"]] == [-0.803973013, 0.147326595]
    bad = subprocess.run(
        [str(exe), "stats", "survival", "--data", "/nonexistent.csv", "--time", "t", "--event", "e"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert bad.returncode == 2 and "does not exist" in bad.stderr

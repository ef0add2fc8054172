"""`alstrial stats mi`: MAR and reference-based MI with Rubin's rules and a tipping point, from a CSV file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from alstrial.cli import app


def _wide(path: Path, n: int = 200, effect: float = 0.6, seed: int = 4) -> Path:
    rng = np.random.default_rng(seed)
    arm = np.repeat(["PBO", "MSC"], n // 2)
    base = rng.normal(35, 5, n)
    months = np.arange(1, 7)
    y = base[:, None] - months + (arm == "MSC")[:, None] * months * effect
    y = y + rng.multivariate_normal(np.zeros(6), 9 * (0.6 + 0.4 * np.eye(6)), n)
    for i in range(n):  # monotone dropout, more likely when the score is low
        for v in range(1, 6):
            if y[i, v - 1] < 31 and rng.random() < 0.3:
                y[i, v:] = np.nan
                break
    frame = pd.DataFrame(y, columns=[f"M{v}" for v in months])
    frame.insert(0, "BASE", base)
    frame.insert(0, "ARM", arm)
    frame.to_csv(path, index=False)
    return path


def test_mi_methods_and_tipping_point_as_json(tmp_path: Path) -> None:
    data = _wide(tmp_path / "wide.csv")
    args = ["stats", "mi", "--data", str(data), "--arm", "ARM", "--baseline", "BASE", "--visits", "M1,M2,M3,M4,M5,M6"]
    args += ["--reference", "PBO", "--m", "10", "--seed", "3", "--tipping", "0,-2,-4,-6,-8,-10,-14", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    est = {k: v["estimate"] for k, v in out["methods"].items()}
    assert set(est) == {"mar", "jump_to_reference", "copy_reference", "copy_increments_in_reference"}
    assert est["jump_to_reference"] < est["copy_increments_in_reference"] < est["mar"]
    tip = out["tipping_point"]
    flip = tip["tipping_delta"]
    assert flip is not None and flip < 0
    table = {row["delta"]: row for row in tip["table"]}
    assert table[flip]["p_value"] >= 0.05 and table[0.0]["p_value"] < 0.05
    again = CliRunner().invoke(app, args)
    assert again.output == result.output  # same seed, same imputations


def test_mi_text_output_and_bad_input(tmp_path: Path) -> None:
    data = _wide(tmp_path / "wide.csv", n=60)
    base = ["stats", "mi", "--data", str(data), "--arm", "ARM", "--baseline", "BASE", "--visits", "M1,M2,M3"]
    text = CliRunner().invoke(app, [*base, "--m", "3", "--seed", "1", "--methods", "mar", "--tipping", "0,-5"])
    assert text.exit_code == 0, text.output
    assert "Multiple imputation at M3" in text.output and "the conclusion flips at delta" in text.output
    bad = CliRunner().invoke(app, [*base, "--methods", "j2r"])
    assert bad.exit_code == 2 and "invalid value for --methods ['j2r']" in bad.output
    wrong = CliRunner().invoke(app, [*base, "--visit", "M9"])
    assert wrong.exit_code == 2 and "--visit 'M9' is not one of --visits" in wrong.output

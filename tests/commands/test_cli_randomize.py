"""`alstrial randomize list|check` through the real entry point, including every error path."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from alstrial.cli import app
from alstrial.domain.randomization import all_strata, generate_block_list
from alstrial.protocol import default_protocol_path, load_protocol

COLUMNS = ["stratum", "sequence", "block", "block_size", "arm", "kit_code"]
runner = CliRunner()


def _protocol_variant(tmp_path: Path, old: str, new: str, name: str = "variant.toml") -> Path:
    text = default_protocol_path().read_text(encoding="utf-8")
    assert old in text, f"seed protocol no longer contains {old!r}"
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _read(csv_text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(csv_text), dtype={"stratum": str, "arm": str, "kit_code": str})


def test_list_to_stdout_has_the_exact_columns_and_matches_the_domain_function():
    result = runner.invoke(app, ["randomize", "list", "--seed", "11", "--per-stratum", "8"])
    assert result.exit_code == 0, result.output
    frame = _read(result.stdout)
    assert list(frame.columns) == COLUMNS
    spec = load_protocol()
    expected = generate_block_list(
        [(a.code, a.ratio) for a in spec.arms],
        all_strata(spec.strata_levels()),
        per_stratum=8,
        seed=11,
        block_multiples=spec.randomization.block_multiples,
    ).to_frame()
    pd.testing.assert_frame_equal(frame, expected)
    assert set(frame["stratum"]) == set(all_strata(spec.strata_levels()))
    # the summary is on stderr, never mixed into the CSV
    assert "Balance report" in result.stderr and "Balance report" not in result.stdout
    assert "at block ends" in result.stderr


def test_list_to_file_writes_the_csv_and_reports_on_stderr(tmp_path):
    out = tmp_path / "list.csv"
    result = runner.invoke(app, ["randomize", "list", "--seed", "3", "--per-stratum", "10", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    frame = pd.read_csv(out)
    assert list(frame.columns) == COLUMNS
    assert f"wrote {len(frame)} entries" in result.stderr
    assert not list(tmp_path.glob(".*tmp"))  # no temporary file left behind
    counts = frame.groupby("stratum")["sequence"].max()
    assert (counts >= 10).all()


def test_same_seed_same_file_and_other_seed_differs(tmp_path):
    a, b, c = (tmp_path / f"{n}.csv" for n in "abc")
    for path, seed in ((a, "5"), (b, "5"), (c, "6")):
        assert (
            runner.invoke(app, ["randomize", "list", "--seed", seed, "--per-stratum", "6", "-o", str(path)]).exit_code
            == 0
        )
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_per_stratum_defaults_to_the_protocol_value():
    result = runner.invoke(app, ["randomize", "list", "--seed", "1"])
    assert result.exit_code == 0, result.output
    frame = _read(result.stdout)
    per = load_protocol().randomization.per_stratum
    assert (frame.groupby("stratum")["sequence"].max() >= per).all()


def test_other_ratio_from_a_protocol_file(tmp_path):
    path = _protocol_variant(
        tmp_path, 'code = "MSC"\nname = "Autologous MSC"\nratio = 1', 'code = "MSC"\nname = "Autologous MSC"\nratio = 2'
    )
    result = runner.invoke(app, ["randomize", "list", "--seed", "2", "--per-stratum", "9", "--protocol", str(path)])
    assert result.exit_code == 0, result.output
    frame = _read(result.stdout)
    assert set(frame["block_size"]) <= {3, 6, 9}
    for _, block in frame.groupby(["stratum", "block"]):
        assert (block["arm"] == "MSC").sum() == 2 * (block["arm"] == "PBO").sum()
    assert "MSC:PBO = 2:1" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seed", "1", "--per-stratum", "0"], "invalid value for --per-stratum"),
        (["--seed", "1", "--per-stratum", "-4"], "(not -4)"),
        (["--seed", "-1", "--per-stratum", "4"], "invalid value for --seed"),
        (["--seed", "1", "--per-stratum", "5000000"], "at most"),
    ],
)
def test_bad_values_exit_2_with_a_message_and_write_nothing(tmp_path, args, message):
    out = tmp_path / "list.csv"
    result = runner.invoke(app, ["randomize", "list", *args, "-o", str(out)])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_missing_seed_is_a_usage_error():
    result = runner.invoke(app, ["randomize", "list", "--per-stratum", "4"])
    assert result.exit_code == 2
    assert "--seed" in result.output


def test_unreadable_or_invalid_protocol_exits_2_listing_the_problems(tmp_path):
    out = tmp_path / "list.csv"
    missing = runner.invoke(
        app, ["randomize", "list", "--seed", "1", "--protocol", str(tmp_path / "no.toml"), "-o", str(out)]
    )
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    broken = _protocol_variant(tmp_path, "ratio = 1", "ratio = 0", name="broken.toml")
    result = runner.invoke(app, ["randomize", "list", "--seed", "1", "--protocol", str(broken), "-o", str(out)])
    assert result.exit_code == 2
    assert "problem(s) in the protocol" in result.stderr and "ratio" in result.stderr
    assert not out.exists()


def test_minimization_protocol_has_no_list(tmp_path):
    path = _protocol_variant(tmp_path, 'method = "permuted_block"', 'method = "minimization"')
    result = runner.invoke(app, ["randomize", "list", "--seed", "1", "--protocol", str(path)])
    assert result.exit_code == 2
    assert "minimization" in result.stderr and result.stdout == ""


def test_output_into_a_missing_folder_exits_2(tmp_path):
    out = tmp_path / "nowhere" / "list.csv"
    result = runner.invoke(app, ["randomize", "list", "--seed", "1", "--per-stratum", "2", "-o", str(out)])
    assert result.exit_code == 2
    assert "does not exist" in result.stderr
    assert not out.parent.exists()


def test_check_accepts_a_generated_list_and_rejects_a_tampered_one(tmp_path):
    out = tmp_path / "list.csv"
    assert runner.invoke(app, ["randomize", "list", "--seed", "4", "--per-stratum", "4", "-o", str(out)]).exit_code == 0
    ok = runner.invoke(app, ["randomize", "check", str(out)])
    assert ok.exit_code == 0, ok.output
    assert "ok:" in ok.stdout and "Balance report" in ok.stdout
    frame = pd.read_csv(out, dtype=str)
    frame.loc[0, "arm"] = "PBO" if frame.loc[0, "arm"] == "MSC" else "MSC"
    tampered = tmp_path / "tampered.csv"
    frame.to_csv(tampered, index=False)
    bad = runner.invoke(app, ["randomize", "check", str(tampered)])
    assert bad.exit_code == 2
    assert "appears" in bad.stderr and "Traceback" not in bad.output
    missing_stratum = tmp_path / "partial.csv"
    pd.read_csv(out, dtype=str).query("stratum != @frame.stratum[0]").to_csv(missing_stratum, index=False)
    partial = runner.invoke(app, ["randomize", "check", str(missing_stratum)])
    assert partial.exit_code == 2 and "no entries for 1" in partial.stderr
    unreadable = runner.invoke(app, ["randomize", "check", str(tmp_path / "absent.csv")])
    assert unreadable.exit_code == 2 and "cannot read" in unreadable.stderr


def test_console_script_in_a_subprocess(tmp_path):
    exe = Path(sys.executable).with_name("alstrial")
    if not exe.exists():
        pytest.skip(f"console script not installed next to {sys.executable}")
    out = tmp_path / "list.csv"
    env = {**os.environ, "PYTHONHASHSEED": "random"}
    done = subprocess.run(
        [str(exe), "randomize", "list", "--seed", "9", "--per-stratum", "4", "-o", str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    frame = pd.read_csv(out)
    assert list(frame.columns) == COLUMNS and len(frame) >= 4 * 12
    assert "Balance report" in done.stderr and done.stdout == ""
    bad = subprocess.run(
        [str(exe), "randomize", "list", "--seed", "9", "--per-stratum", "0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: invalid value for --per-stratum") and "Traceback" not in bad.stderr

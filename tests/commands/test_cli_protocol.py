"""`alstrial protocol show|check` through the real entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from alstrial.cli import app
from alstrial.protocol import default_protocol_path

runner = CliRunner()


def test_show_default_protocol_prints_schedule() -> None:
    result = runner.invoke(app, ["protocol", "show"])
    assert result.exit_code == 0, result.output
    assert "MSC-ALS-P3" in result.output
    assert "Schedule" in result.output and "W16 (dose 3)" in result.output
    assert "IN6" in result.output


def test_check_valid_file_exits_zero() -> None:
    result = runner.invoke(app, ["protocol", "check", str(default_protocol_path())])
    assert result.exit_code == 0
    assert "valid protocol 'MSC-ALS-P3'" in result.output


def test_check_broken_file_exits_two_with_every_message(tmp_path: Path) -> None:
    text = default_protocol_path().read_text(encoding="utf-8")
    text = text.replace("sample_size = 189", "sample_size = 1").replace('route = "INTRATHECAL"', 'route = ""')
    broken = tmp_path / "broken.toml"
    broken.write_text(text, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "alstrial", "protocol", "check", str(broken)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "sample_size: value 1" in proc.stderr
    assert "dosing.route: value ''" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_show_missing_file_exits_two(tmp_path: Path) -> None:
    result = runner.invoke(app, ["protocol", "show", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2
    assert "no such file" in result.output

"""The interop commands: `alstrial export sdtm|adam|redcap-dictionary|odm` and `alstrial redcap|odm ...`."""

from __future__ import annotations

from pathlib import Path

import pytest
from exported_trial import ExportedTrial, sqlite_trial_fixture  # noqa: F401
from typer.testing import CliRunner

from alstrial.cli import app
from alstrial.protocol import parse_protocol

runner = CliRunner()


def _env(trial: ExportedTrial, password: str | None = None) -> dict[str, str]:
    return {"ALSTRIAL_PASSWORD": password or trial.password}


def test_export_sdtm_and_adam_on_the_database(sqlite_trial: ExportedTrial, tmp_path: Path) -> None:
    args = ["--db", sqlite_trial.url, "--user", "x_stat"]
    result = runner.invoke(app, ["export", "sdtm", *args, "--out", str(tmp_path / "sdtm")], env=_env(sqlite_trial))
    assert result.exit_code == 0, result.output
    assert "dm.xpt" in result.output and (tmp_path / "sdtm" / "define.xml").exists()
    result = runner.invoke(
        app, ["export", "adam", *args, "--out", str(tmp_path / "adam"), "--json"], env=_env(sqlite_trial)
    )
    assert result.exit_code == 0, result.output
    assert '"ADSL"' in result.output and (tmp_path / "adam" / "adsl.xpt").exists()


@pytest.mark.parametrize(
    ("user", "password", "message"),
    [("x_stat", "wrong-password-123", "sign-in failed"), ("x_coord", None, "covers every site")],
)
def test_export_refusals_are_one_clear_line_and_write_nothing(
    sqlite_trial: ExportedTrial, tmp_path: Path, user: str, password: str | None, message: str
) -> None:
    out = tmp_path / "sdtm"
    result = runner.invoke(
        app,
        ["export", "sdtm", "--db", sqlite_trial.url, "--user", user, "--out", str(out)],
        env=_env(sqlite_trial, password),
    )
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_redcap_dictionary_export_and_import_give_back_the_protocol(tmp_path: Path) -> None:
    csv_path, draft = tmp_path / "dictionary.csv", tmp_path / "draft.toml"
    result = runner.invoke(app, ["export", "redcap-dictionary", "--out", str(csv_path)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["redcap", "import-dictionary", str(csv_path), "--out", str(draft)])
    assert result.exit_code == 0, result.output
    assert "unsupported" not in result.output
    from alstrial.protocol import load_protocol

    assert parse_protocol(draft.read_text()) == load_protocol()


def test_a_bad_dictionary_exits_2_and_writes_no_draft(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"Variable,Form\nx,y\n")
    result = runner.invoke(app, ["redcap", "import-dictionary", str(bad), "--out", str(tmp_path / "d.toml")])
    assert result.exit_code == 2 and "wrong header" in result.output
    assert not (tmp_path / "d.toml").exists()


def test_rejected_records_exit_2_with_a_report(sqlite_trial: ExportedTrial, tmp_path: Path) -> None:
    records, report = tmp_path / "records.csv", tmp_path / "rejected.csv"
    args = ["--db", sqlite_trial.url, "--user", "x_coord", "--report", str(report)]
    records.write_text("record_id,redcap_event_name,alsfrs_q1\nS01-0001,w0_arm_1,7\n", encoding="utf-8")
    result = runner.invoke(
        app,
        ["redcap", "import-records", str(records), *args],
        env=_env(sqlite_trial),
    )
    assert result.exit_code == 2, result.output
    assert "record S01-0001, event w0_arm_1, field alsfrs_q1: value '7'" in result.output
    assert report.read_text().splitlines()[1].startswith("S01-0001,w0_arm_1,alsfrs_q1,7,")


def test_export_odm_and_import_its_metadata_as_a_draft(sqlite_trial: ExportedTrial, tmp_path: Path) -> None:
    args = ["--db", sqlite_trial.url, "--user", "nobody"]
    result = runner.invoke(app, ["export", "odm", *args, "--out", str(tmp_path)], env=_env(sqlite_trial))
    assert result.exit_code == 2 and "sign-in failed" in result.output
    args = ["--db", sqlite_trial.url, "--user", "x_dm", "--out", str(tmp_path)]
    result = runner.invoke(app, ["export", "odm", *args], env=_env(sqlite_trial))
    assert result.exit_code == 0, result.output
    assert "audit record(s)" in result.output
    draft = tmp_path / "draft.toml"
    result = runner.invoke(app, ["odm", "import-metadata", str(tmp_path / "msc-als-p3.odm.xml"), "--out", str(draft)])
    assert result.exit_code == 0, result.output
    from alstrial.protocol import load_protocol

    assert parse_protocol(draft.read_text()) == load_protocol()
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<ODM")
    result = runner.invoke(app, ["odm", "import-metadata", str(bad), "--out", str(tmp_path / "x.toml")])
    assert result.exit_code == 2 and "not well-formed" in result.output and not (tmp_path / "x.toml").exists()

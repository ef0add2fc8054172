"""`alstrial init`, `user add`, `site add` and `import` through the CLI (both backends)."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from cli_mount import MOUNTED_IN_MAIN_CLI, capture_cli
from typer.testing import CliRunner

from alstrial.services import list_participants
from alstrial.services.context import CaptureDB
from alstrial.services.setup import bootstrap_actor
from conftest import ELIGIBLE, PASSWORD, alsfrs_items, snapshot

ENV = {"ALSTRIAL_PASSWORD": PASSWORD, "ALSTRIAL_NEW_PASSWORD": PASSWORD}


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(capture_cli(), list(args), env=env or ENV)


@pytest.fixture
def initialised(db_url: str) -> str:
    result = run("init", "--db", db_url, "--seed", "42")
    assert result.exit_code == 0, result.output
    assert "MSC-ALS-P3" in result.output and "admin user 'admin'" in result.output
    return db_url


def write_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def screening_rows(n: int) -> list[dict[str, object]]:
    return [
        {"site": "S01", "screened_on": "2025-01-06", "consent_date": "2025-01-05", **ELIGIBLE, "age_years": 15 + i % 50}
        for i in range(n)
    ]


def test_init_users_sites_and_role_checks(initialised: str) -> None:
    db = initialised
    assert run("site", "add", "S07", "Site 07", "--db", db, "--user", "admin", "--country", "DE").exit_code == 0
    out = run("user", "add", "coord", "--role", "site_coordinator", "--site", "S07", "--db", db, "--user", "admin")
    assert out.exit_code == 0 and "coord' added as site_coordinator at S07" in out.output
    # the coordinator may not add sites: same role checks as any client
    denied = run("site", "add", "S08", "Site 08", "--db", db, "--user", "coord")
    assert denied.exit_code == 2 and "PermissionDenied" in denied.output and "Traceback" not in denied.output
    wrong = run("site", "add", "S08", "x", "--db", db, "--user", "admin", env={"ALSTRIAL_PASSWORD": "not-the-password"})
    assert wrong.exit_code == 2 and "sign-in failed" in wrong.output
    again = run("init", "--db", db)
    assert again.exit_code == 2 and "already holds a trial" in again.output


def test_password_prompt_when_no_environment_variable(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        capture_cli(),
        ["init", "--db", str(tmp_path / "p.db"), "--seed", "1"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
        env={"ALSTRIAL_PASSWORD": ""},
    )
    assert result.exit_code == 0, result.output


def test_import_screening_is_all_or_nothing_and_names_the_bad_row(initialised: str, tmp_path: Path) -> None:
    db = initialised
    run("user", "add", "coord", "--role", "site_coordinator", "--site", "S01", "--db", db, "--user", "admin")
    rows = screening_rows(1000)
    rows[637]["sex"] = "unknown"  # CSV line 639 (header is line 1)
    path = write_csv(tmp_path / "screening.csv", rows)
    capture = CaptureDB.from_url(db)
    before = snapshot(capture)
    result = run("import", "screening", str(path), "--db", db, "--user", "coord")
    assert result.exit_code == 2, result.output
    assert "row 639, column sex: value 'unknown' — expected one of ['F', 'M']" in result.output
    assert "nothing was written" in result.output and result.output.count("row ") == 1
    assert snapshot(capture) == before
    # every other row was checked too (one problem listed), so the rest were valid; a smaller clean file imports
    ok = run("import", "screening", str(write_csv(tmp_path / "ok.csv", rows[:50])), "--db", db, "--user", "coord")
    assert ok.exit_code == 0 and "imported 50 screening row(s)" in ok.output
    people = list_participants(capture, bootstrap_actor(capture, "admin"))
    too_young_or_old = sum(not 18 <= int(r["age_years"]) <= 60 for r in rows[:50])
    assert too_young_or_old == 7
    assert len(people) == 50 and sum(p.status == "screen_failed" for p in people) == too_young_or_old
    capture.dispose()


def test_import_lists_every_bad_row_of_other_tables(initialised: str, tmp_path: Path) -> None:
    db = initialised
    run("user", "add", "inv", "--role", "investigator", "--site", "S01", "--db", db, "--user", "admin")
    run("import", "screening", str(write_csv(tmp_path / "s.csv", screening_rows(2))), "--db", db, "--user", "inv")
    items = {f"q{i}": 4 for i in (1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12)}
    alsfrs = [
        {"participant": "S01-0001", "visit": "SCR", "visit_date": "2025-01-06", "q5a": 4, **items},
        {"participant": "S01-0002", "visit": "SCR", "visit_date": "06/01/2025", "q5a": 9, **items},
        {"participant": "S01-0099", "visit": "SCR", "visit_date": "2025-01-06", "q5a": 4, **items},
    ]
    result = run("import", "alsfrs", str(write_csv(tmp_path / "a.csv", alsfrs)), "--db", db, "--user", "inv")
    assert result.exit_code == 2
    assert "row 3, column visit_date: value '06/01/2025' — expected a date YYYY-MM-DD" in result.output
    assert "row 4, column participant: value 'S01-0099' — no participant 'S01-0099'" in result.output
    ae = [
        {
            "participant": "S01-0001",
            "term": "Headache",
            "onset_date": "2025-02-01",
            "resolution_date": "",
            "serious": "yes",
            "criteria": "",
            "severity": "MILD",
            "relatedness": "RELATED",
            "action_taken": "DOSE NOT CHANGED",
            "outcome": "RECOVERED/RESOLVED",
        }
    ]
    bad = run("import", "adverse_events", str(write_csv(tmp_path / "ae.csv", ae)), "--db", db, "--user", "inv")
    assert bad.exit_code == 2 and "row 2, column criteria" in bad.output
    unknown = run("import", "vitals", str(tmp_path / "ae.csv"), "--db", db, "--user", "inv")
    assert unknown.exit_code == 2 and "expected one of screening, alsfrs" in unknown.output


def test_import_runin_after_screening_and_alsfrs(initialised: str, tmp_path: Path) -> None:
    """The data manager's path through the run-in: screening (IN6 pending) → alsfrs → runin."""
    db = initialised
    run("user", "add", "coord", "--role", "site_coordinator", "--site", "S01", "--db", db, "--user", "admin")
    rows = [dict(r, alsfrs_r_runin_decline="") for r in screening_rows(3)]
    for r in rows:
        r["age_years"] = 45
    ok = run("import", "screening", str(write_csv(tmp_path / "s.csv", rows)), "--db", db, "--user", "coord")
    assert ok.exit_code == 0 and "imported 3 screening row(s)" in ok.output, ok.output
    typed = run(
        "import",
        "screening",
        str(write_csv(tmp_path / "typed.csv", [dict(rows[0], alsfrs_r_runin_decline="4")])),
        "--db",
        db,
        "--user",
        "coord",
    )
    assert typed.exit_code == 2 and "row 2, column alsfrs_r_runin_decline: value '4' — not known at screening" in (
        typed.output
    )
    alsfrs = [
        {"participant": f"S01-000{i}", "visit": visit, "visit_date": day, **alsfrs_items(total)}
        for i, runin_total in ((1, 36), (2, 39), (3, 35))
        for visit, day, total in (("SCR", "2025-01-06", 40), ("RUNIN", "2025-03-02", runin_total))
    ]
    ok = run("import", "alsfrs", str(write_csv(tmp_path / "a.csv", alsfrs)), "--db", db, "--user", "coord")
    assert ok.exit_code == 0 and "imported 6 alsfrs row(s)" in ok.output, ok.output
    runin = [
        {"participant": "S01-0001", "enrolled_on": "2025-01-06"},
        {"participant": "S01-0002", "enrolled_on": "2025-01-07"},
        {"participant": "S01-0003", "enrolled_on": ""},
    ]
    capture = CaptureDB.from_url(db)
    before = snapshot(capture)
    bad = run("import", "runin", str(write_csv(tmp_path / "r.csv", runin)), "--db", db, "--user", "coord")
    assert bad.exit_code == 2 and "row 4, column enrolled_on: value None — required: S01-0003 is not enrolled" in (
        bad.output
    )
    assert snapshot(capture) == before and "Traceback" not in bad.output
    runin[2]["enrolled_on"] = "2025-01-08"
    done = run("import", "runin", str(write_csv(tmp_path / "r.csv", runin)), "--db", db, "--user", "coord")
    assert done.exit_code == 0, done.output
    assert "imported 3 runin row(s)" in done.output
    assert "S01-0001: ALSFRS-R decline 4 during the run-in: eligible" in done.output
    assert "S01-0002: ALSFRS-R decline 1 during the run-in: run-in failure (IN6)" in done.output
    people = {p.code: p.status for p in list_participants(capture, bootstrap_actor(capture, "admin"))}
    assert people == {"S01-0001": "enrolled", "S01-0002": "screen_failed", "S01-0003": "enrolled"}
    again = run("import", "runin", str(write_csv(tmp_path / "r2.csv", runin[1:2])), "--db", db, "--user", "coord")
    assert again.exit_code == 2 and "row 2, column -: value None — participant 'S01-0002' is screen_failed" in (
        again.output
    )
    capture.dispose()


def test_console_script_runs_init_and_verify(tmp_path: Path) -> None:
    """A real process: the installed ``alstrial`` entry point once the groups are mounted."""
    db = str(tmp_path / "cli.db")
    exe = Path(sys.executable).with_name("alstrial")
    if MOUNTED_IN_MAIN_CLI:
        cmd = [str(exe)]
    else:  # same commands, mounted as documented, until cli.py mounts them
        cmd = [
            sys.executable,
            "-c",
            "import sys; sys.argv[0]='alstrial'; from cli_mount import capture_cli; capture_cli()()",
        ]
    env = {
        "ALSTRIAL_PASSWORD": PASSWORD,
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(Path(__file__).parent) + ":" + str(Path(__file__).parents[1]),
    }
    init = subprocess.run(
        [*cmd, "init", "--db", db, "--seed", "3"], capture_output=True, text=True, env=env, timeout=120
    )
    assert init.returncode == 0, init.stderr
    verify = subprocess.run([*cmd, "audit", "verify", "--db", db], capture_output=True, text=True, env=env, timeout=120)
    assert verify.returncode == 0 and "audit trail intact: 3 record(s)" in verify.stdout

"""`alstrial randomize participant|arm`, `alstrial records` and `alstrial query` (both backends):
what a data manager needs besides `import` to run a trial from the command line alone."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alstrial.cli import app
from conftest import ELIGIBLE, PASSWORD, alsfrs_items, snapshot

ENV = {"ALSTRIAL_PASSWORD": PASSWORD, "ALSTRIAL_NEW_PASSWORD": PASSWORD}
USERS = (
    ("coord", "site_coordinator", "S01"),
    ("inv", "investigator", "S01"),
    ("pharm", "pharmacist", None),
    ("dm", "data_manager", None),
    ("mon", "monitor", None),
)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=ENV)
    return result.exit_code, result.stdout, result.output


def ok(*args: str) -> str:
    code, stdout, output = run(*args)
    assert code == 0, output
    return stdout


def _csv(path: Path, rows: list[dict[str, object]]) -> str:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return str(path)


@pytest.fixture
def enrolled(db_url: str, tmp_path: Path) -> tuple[str, list[str]]:
    """Three participants through screening and the run-in, ready to randomize."""
    db = db_url
    ok("init", "--db", db, "--seed", "7")
    for name, role, site in USERS:
        ok("user", "add", name, "--role", role, "--db", db, "--user", "admin", *(["--site", site] if site else []))
    screening = [
        {"site": "S01", "screened_on": "2025-01-06", "consent_date": "2025-01-06", **ELIGIBLE}
        | {"alsfrs_r_runin_decline": ""}
        for _ in range(3)
    ]
    ok("import", "screening", _csv(tmp_path / "s.csv", screening), "--db", db, "--user", "coord")
    codes = [f"S01-{i:04d}" for i in (1, 2, 3)]
    pre = [
        {"participant": c, "visit": v, "visit_date": d, **alsfrs_items(t)}
        for c in codes
        for v, d, t in (("SCR", "2025-01-06", 38), ("RUNIN", "2025-03-02", 34))
    ]
    ok("import", "alsfrs", _csv(tmp_path / "a.csv", pre), "--db", db, "--user", "coord")
    runin = [{"participant": c, "enrolled_on": "2025-01-06"} for c in codes]
    ok("import", "runin", _csv(tmp_path / "r.csv", runin), "--db", db, "--user", "coord")
    return db, codes


def test_randomize_read_arms_and_list_records(enrolled: tuple[str, list[str]]) -> None:
    db, codes = enrolled
    out = ok("randomize", "participant", *codes[:2], "--db", db, "--user", "inv")
    assert out.count("randomized in stratum") == 2 and "MSC" not in out and "PBO" not in out
    arms = json.loads(ok("randomize", "arm", *codes[:2], "--db", db, "--user", "pharm", "--json"))
    assert set(arms) == set(codes[:2]) and set(arms.values()) <= {"MSC", "PBO"}
    people = json.loads(ok("records", "participants", "--db", db, "--user", "mon", "--json"))
    assert [p["status"] for p in people] == ["randomized", "randomized", "enrolled"]
    assert all("arm" not in p for p in people)  # the monitor is blinded
    one = json.loads(ok("records", "participants", "--participant", codes[0], "--db", db, "--user", "mon", "--json"))
    assert [p["code"] for p in one] == [codes[0]]
    # the filter applies before the page is cut: the third participant is found with a page of one
    third = ["records", "participants", "--participant", codes[2], "--limit", "1", "--db", db, "--user", "mon"]
    assert [p["code"] for p in json.loads(ok(*third, "--json"))] == [codes[2]]
    assert ok("records", "lots", "--db", db, "--user", "pharm").strip() == "(none)"


def test_blinded_roles_cannot_read_arms_and_bad_input_is_named(enrolled: tuple[str, list[str]]) -> None:
    db, codes = enrolled
    ok("randomize", "participant", codes[0], "--db", db, "--user", "inv")
    before = snapshot_of(db)
    code, _, output = run("randomize", "arm", codes[0], "--db", db, "--user", "mon")
    assert (
        code == 2 and "blinded" in output and "MSC" not in output and "PBO" not in output and "Traceback" not in output
    )
    code, _, output = run("records", "arms", "--db", db, "--user", "dm")
    assert code == 2 and "expected one of participants, adverse_events" in output
    # randomizing stops at the first participant who cannot be randomized (already randomized here)
    code, _, output = run("randomize", "participant", codes[0], "--db", db, "--user", "inv")
    assert code == 2 and "is randomized; only an enrolled participant can be randomized" in output
    code, _, output = run("randomize", "participant", "S01-9999", "--db", db, "--user", "inv")
    assert code == 2 and "S01-9999" in output
    assert snapshot_of(db) == before


def test_query_cycle_from_the_command_line(enrolled: tuple[str, list[str]], tmp_path: Path) -> None:
    db, codes = enrolled
    ok("randomize", "participant", codes[0], "--db", db, "--user", "inv")
    ae = {
        "participant": codes[0],
        "term": "Headache",
        "onset_date": "2025-04-07",
        "resolution_date": "",
        "serious": "no",
        "criteria": "",
        "severity": "MILD",
        "relatedness": "POSSIBLY RELATED",
        "action_taken": "DOSE NOT CHANGED",
        "outcome": "RECOVERED/RESOLVED",
    }
    ok("import", "adverse_events", _csv(tmp_path / "ae.csv", [ae]), "--db", db, "--user", "inv")
    [row] = json.loads(ok("records", "adverse_events", "--db", db, "--user", "dm", "--json"))
    opened = ok("query", "open", "--db", db, "--user", "dm", "--entity", "adverse_event", "--id", str(row["id"]),
                "--field", "term", "--text", "MedDRA term?")  # fmt: skip
    qid = opened.split()[1]
    assert f"query {qid} opened on adverse_event {row['id']}.term" in opened
    code, _, output = run("query", "open", "--db", db, "--user", "dm", "--entity", "adverse_event",
                          "--id", str(row["id"]), "--field", "colour", "--text", "?")  # fmt: skip
    assert code == 2 and "no such field; fields of adverse_event:" in output and "term" in output
    ok("query", "answer", qid, "--db", db, "--user", "inv", "--text", "Tension-type headache")
    assert json.loads(ok("query", "list", "--db", db, "--user", "dm", "--json"))[0]["status"] == "answered"
    ok("query", "close", qid, "--db", db, "--user", "dm", "--note", "recoded")
    assert ok("query", "list", "--status", "open", "--db", db, "--user", "dm").strip() == "(none)"
    code, _, output = run("query", "close", qid, "--db", db, "--user", "dm")
    assert code == 2 and "already closed" in output


def snapshot_of(url: str) -> dict[str, object]:
    from alstrial.services.context import CaptureDB

    db = CaptureDB.from_url(url)
    try:
        return snapshot(db)
    finally:
        db.dispose()


def test_two_people_randomizing_at_once_from_the_command_line(enrolled: tuple[str, list[str]]) -> None:
    """Two `alstrial randomize participant` processes at the same moment: on the same participant one
    wins and the other is told why (no traceback, no second allocation); on two participants both
    get their own kit."""
    import os
    import subprocess
    import sys

    db, codes = enrolled
    exe = str(Path(sys.executable).with_name("alstrial"))
    env = {**os.environ, **ENV}

    def together(*targets: str) -> list[subprocess.CompletedProcess[str]]:
        procs = [
            subprocess.Popen(
                [exe, "randomize", "participant", code, "--db", db, "--user", "inv"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for code in targets
        ]
        done = []
        for p in procs:
            out, err = p.communicate(timeout=120)
            done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
        return done

    same = together(codes[0], codes[0])
    assert sorted(r.returncode for r in same) == [0, 2], [(r.stdout, r.stderr) for r in same]
    loser = next(r for r in same if r.returncode == 2)
    assert "Traceback" not in loser.stdout + loser.stderr
    assert f"participant {codes[0]!r} is randomized" in loser.stdout + loser.stderr, loser.stdout + loser.stderr
    both = together(codes[1], codes[2])
    assert [r.returncode for r in both] == [0, 0], [(r.stdout, r.stderr) for r in both]
    people = {p["code"]: p for p in json.loads(ok("records", "participants", "--db", db, "--user", "mon", "--json"))}
    kits = [people[c]["kit_code"] for c in codes]
    assert all(kits) and len(set(kits)) == 3
    arms = json.loads(ok("randomize", "arm", *codes, "--db", db, "--user", "pharm", "--json"))
    assert set(arms) == set(codes)

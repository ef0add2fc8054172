"""`alstrial serve` killed with SIGKILL under sustained API writes loses nothing and corrupts nothing.

Three client threads send adverse events and follow-up visits with their ALSFRS-R through
``/api/v1`` with bearer tokens; the server is killed at random moments and restarted. After the
last restart: the database passes its integrity check, ``verify_database`` (chain + replay of every
clinical table) passes, every write acknowledged with a 2xx is stored exactly once with the values
sent, and nothing is stored that was not acknowledged (no half-written record). A few kills per
engine in every run; 20+ per engine under the ``slow`` marker. See ``crash_harness.py``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from crash_harness import CrashRun, integrity_problems, lost_or_wrong, run_crashes


def _check(run: CrashRun, db_url: str, kills: int) -> None:
    assert run.kills == kills
    assert run.outcome.refused == [], run.outcome.refused[:5]  # no 4xx/5xx for valid writes, retried or not
    assert run.outcome.retries > 0, "no request was ever cut by a kill: the harness did not test anything"
    assert len(run.outcome.acked) >= 2 * kills
    assert {w.kind for w, _ in run.outcome.acked} == {"ae", "alsfrs"}
    assert integrity_problems(db_url) == []
    verified = subprocess.run(
        [str(Path(sys.executable).with_name("alstrial")), "verify", "--db", db_url], capture_output=True, text=True
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert lost_or_wrong(run, db_url) == []


def test_kills_during_api_writes_lose_nothing(db_url: str, tmp_path: Path) -> None:
    run = run_crashes(db_url, tmp_path / "serve.log", kills=2)
    _check(run, db_url, 2)


@pytest.mark.slow
def test_twenty_kills_during_api_writes_lose_nothing(db_url: str, tmp_path: Path) -> None:
    run = run_crashes(db_url, tmp_path / "serve.log", kills=20, participants=6, seed=20)
    _check(run, db_url, 20)
    print(
        f"{run.kills} kills, {len(run.outcome.acked)} acknowledged writes, {run.outcome.retries} cut requests "
        f"retried, start-up {min(run.startup_seconds):.2f}-{max(run.startup_seconds):.2f} s, {run.seconds:.0f} s"
    )

"""A crash harness for `alstrial serve`: clients write through the JSON API while the server is SIGKILLed.

Used by ``test_serve_crash.py`` (a few kills in every run, 20+ under the ``slow`` marker) and by
``benchmarks``-style manual runs. The harness:

1. sets a trial up in-process (randomized participants at day 0, one user per role) and starts
   ``alstrial serve`` on it in a subprocess;
2. runs client threads that each send a stream of *logical writes* with bearer tokens: adverse
   events, and visits followed by their item-level ALSFRS-R. Every request carries a request key;
   a request that dies with the server is retried with the same key once it is back, until it is
   acknowledged with a 2xx (so each logical write must end up stored exactly once);
3. kills the server with SIGKILL at random moments, restarts it, and repeats;
4. returns every acknowledgement, every non-2xx answer and the number of kills, for the checks in
   :func:`check_database` (integrity, ``verify_database``, each acknowledged write present exactly
   once with the values sent, nothing else written).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from alstrial.services.context import CaptureDB
from alstrial.store import make_engine
from conftest import PASSWORD, SCREEN_DAY, Trial, alsfrs_items, make_trial

SECRET = "crash-harness-secret-" + "k" * 40
DAY0 = SCREEN_DAY + timedelta(days=90)
FOLLOW_UP = (("W4", 28), ("W8", 56), ("W12", 84), ("W16", 112), ("W20", 140), ("W24", 168), ("W28", 196))


# --------------------------------------------------------------------------- the trial and the server
def prepare_trial(db_url: str, participants: int) -> tuple[list[str], Trial]:
    """A set-up trial with ``participants`` randomized participants whose day-0 visit is recorded."""
    db = CaptureDB.from_url(db_url)
    trial = make_trial(db)
    codes = [trial.at_day0() for _ in range(participants)]
    db.dispose()
    return codes, trial


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``alstrial serve`` in a subprocess, on a fixed port, started and SIGKILLed on demand."""

    def __init__(self, db_url: str, log: Path) -> None:
        self.db_url = db_url
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 240.0) -> float:
        """Start and wait until it answers; returns the start-up time in seconds."""
        exe = Path(sys.executable).with_name("alstrial")
        env = {"PATH": os.environ.get("PATH", ""), "ALSTRIAL_SECRET_KEY": SECRET, "HOME": os.environ.get("HOME", "/")}
        started = time.monotonic()
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(exe), "serve", "--db", self.db_url, "--port", str(self.port), "--workers", "8"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/login", timeout=2) as r:
                    if r.status == 200:
                        return time.monotonic() - started
            except (OSError, http.client.HTTPException):
                pass
            if self.proc.poll() is not None or time.monotonic() - started > timeout:
                raise AssertionError(
                    f"alstrial serve did not start; log:\n{self.log.read_text(errors='replace')[-3000:]}"
                )
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no flush, no rollback on the server's side."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()


# --------------------------------------------------------------------------- clients
@dataclass(frozen=True)
class Write:
    """One logical write: ``requests`` are sent in order, each retried with its key until a 2xx."""

    kind: str  # "ae" or "alsfrs"
    participant: str
    key: str
    payload: dict[str, Any]
    visit: str | None = None


@dataclass
class Outcome:
    acked: list[tuple[Write, dict[str, Any]]] = field(default_factory=list)
    refused: list[tuple[Write, int, str]] = field(default_factory=list)  # non-2xx answers (none expected)
    retries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def token(base: str, username: str) -> str:
    body = json.dumps({"username": username, "password": PASSWORD}).encode()
    req = urllib.request.Request(
        f"{base}/api/v1/tokens", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return str(json.loads(r.read())["access_token"])


def _post(base: str, path: str, bearer: str, payload: dict[str, Any]) -> tuple[int, str]:
    req = urllib.request.Request(
        base + path,
        data=json.dumps(payload, default=str).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {bearer}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def writes_for(client: int, codes: list[str], alsfrs_codes: list[str]) -> Iterator[Write]:
    """Client ``client``'s stream: the follow-up ALSFRS-R of its participants, interleaved with AEs."""
    rng = random.Random(client)
    visits = [(code, v, day) for code in alsfrs_codes for v, day in FOLLOW_UP]
    n = 0
    while True:
        n += 1
        if visits and n % 2:
            code, visit, _day = visits.pop(0)
            total = rng.randint(20, 44)
            yield Write("alsfrs", code, f"c{client}-{code}-{visit}", {"items": alsfrs_items(total)}, visit)
            continue
        code = rng.choice(codes)
        yield Write(
            "ae",
            code,
            f"c{client}-ae-{n}",
            {
                "term": f"Crash-harness event {client}-{n}",
                "onset_date": (DAY0 + timedelta(days=rng.randint(0, 30))).isoformat(),
                "severity": rng.choice(["MILD", "MODERATE", "SEVERE"]),
                "relatedness": "NOT RELATED",
                "action_taken": "DOSE NOT CHANGED",
                "outcome": "NOT RECOVERED/NOT RESOLVED",
            },
        )


def _send_until_acked(
    base: str, bearer: str, path: str, payload: dict[str, Any], up: threading.Event, out: Outcome
) -> tuple[int, str]:
    while True:
        up.wait()
        try:
            return _post(base, path, bearer, payload)
        except (OSError, http.client.HTTPException):
            with out.lock:
                out.retries += 1
            time.sleep(0.02)


def client_loop(
    client: int,
    base: str,
    tokens: dict[str, str],
    codes: list[str],
    alsfrs_codes: list[str],
    up: threading.Event,
    stop: threading.Event,
    out: Outcome,
) -> None:
    for w in writes_for(client, codes, alsfrs_codes):
        if stop.is_set():
            return
        if w.kind == "ae":
            steps = [(f"/api/v1/participants/{w.participant}/adverse-events", {**w.payload, "request_key": w.key})]
            bearer = tokens["investigator"]
        else:
            day = dict(FOLLOW_UP)[str(w.visit)]
            steps = [
                (
                    f"/api/v1/participants/{w.participant}/visits",
                    {"visit": w.visit, "visit_date": DAY0 + timedelta(days=day), "request_key": w.key + "-v"},
                ),
                (
                    f"/api/v1/participants/{w.participant}/visits/{w.visit}/alsfrs-r",
                    {**w.payload["items"], "request_key": w.key + "-a"},
                ),
            ]
            bearer = tokens["site_coordinator"]
        answer: dict[str, Any] = {}
        for path, payload in steps:
            status, body = _send_until_acked(base, bearer, path, payload, up, out)
            if not 200 <= status < 300:
                with out.lock:
                    out.refused.append((w, status, body[:300]))
                break
            answer = json.loads(body)
        else:
            with out.lock:
                out.acked.append((w, answer))


@dataclass
class CrashRun:
    kills: int
    outcome: Outcome
    startup_seconds: list[float]
    seconds: float


def run_crashes(
    db_url: str, log: Path, *, kills: int, clients: int = 3, participants: int = 4, seed: int = 14
) -> CrashRun:
    """Prepare, then kill the server ``kills`` times under load; ends with the server stopped cleanly."""
    started = time.monotonic()
    codes, _trial = prepare_trial(db_url, participants)
    rng = random.Random(seed)
    server = Server(db_url, log)
    up, stop = threading.Event(), threading.Event()
    out = Outcome()
    boots = [server.start()]
    tokens = {u: token(server.base, u) for u in ("investigator", "site_coordinator")}  # survive restarts
    up.set()
    # each client owns the follow-up ALSFRS-R of its own participants, so two clients never race for a visit
    threads = [
        threading.Thread(
            target=client_loop,
            args=(i, server.base, tokens, codes, codes[i::clients], up, stop, out),
            daemon=True,
        )
        for i in range(clients)
    ]
    for t in threads:
        t.start()
    try:
        for _ in range(kills):
            time.sleep(rng.uniform(0.15, 0.9))
            up.clear()
            server.kill()
            boots.append(server.start())
            up.set()
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(timeout=120)  # finishes the logical write in flight (retried until acknowledged)
            assert not t.is_alive(), "a client did not finish"
    finally:
        stop.set()
        up.set()
        server.stop()
    return CrashRun(kills, out, boots, time.monotonic() - started)


# --------------------------------------------------------------------------- checks after the last restart
def integrity_problems(db_url: str) -> list[str]:
    """SQLite: ``PRAGMA integrity_check`` and ``foreign_key_check``. PostgreSQL: amcheck on every B-tree index."""
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                found = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check")]
                problems = [] if found == ["ok"] else found
                problems += [str(tuple(r)) for r in conn.exec_driver_sql("PRAGMA foreign_key_check")]
                return problems
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS amcheck")
            indexes = conn.execute(
                text(
                    "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                    "JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE a.amname = 'btree' AND n.nspname = 'public'"
                )
            ).scalars()
            problems = []
            checked = 0
            for name in indexes:
                try:
                    conn.execute(text("SELECT bt_index_check(CAST(:n AS regclass), true)"), {"n": name})
                    checked += 1
                except Exception as exc:  # amcheck reports corruption as an error
                    problems.append(f"{name}: {exc}")
            if checked == 0 and not problems:
                problems.append("no index was checked")
            stuck = conn.exec_driver_sql("SELECT count(*) FROM pg_prepared_xacts").scalar_one()
            if stuck:
                problems.append(f"{stuck} prepared transactions left behind")
            return problems
    finally:
        engine.dispose()


def stored_writes(db_url: str) -> tuple[dict[str, list[dict[str, Any]]], dict[tuple[str, str], list[dict[str, Any]]]]:
    """The crash-harness AEs by term and the follow-up ALSFRS-R by (participant, visit), as stored."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            aes: dict[str, list[dict[str, Any]]] = {}
            for row in conn.execute(
                text(
                    "SELECT ae.*, p.code AS participant FROM adverse_event ae "
                    "JOIN participant p ON p.id = ae.participant_id WHERE ae.term LIKE 'Crash-harness%'"
                )
            ).mappings():
                aes.setdefault(row["term"], []).append(dict(row))
            scores: dict[tuple[str, str], list[dict[str, Any]]] = {}
            for row in conn.execute(
                text(
                    "SELECT a.*, v.visit_code, v.visit_date, p.code AS participant FROM alsfrs_assessment a "
                    "JOIN visit_record v ON v.id = a.visit_record_id JOIN participant p ON p.id = v.participant_id "
                    "WHERE v.visit_code <> 'W0' AND v.visit_code LIKE 'W%'"
                )
            ).mappings():
                scores.setdefault((row["participant"], row["visit_code"]), []).append(dict(row))
            visits_without_score = conn.execute(
                text(
                    "SELECT p.code, v.visit_code FROM visit_record v JOIN participant p ON p.id = v.participant_id "
                    "LEFT JOIN alsfrs_assessment a ON a.visit_record_id = v.id "
                    "WHERE a.id IS NULL AND v.visit_code NOT IN ('SCR', 'RUNIN', 'W0')"
                )
            ).all()
            for code, visit in visits_without_score:  # a visit whose ALSFRS-R was never acknowledged
                scores.setdefault((code, visit), [])
            return aes, scores
    finally:
        engine.dispose()


def lost_or_wrong(run: CrashRun, db_url: str) -> list[str]:
    """Every acknowledged write stored exactly once, with the values sent; nothing stored that was not sent."""
    aes, scores = stored_writes(db_url)
    problems: list[str] = []
    acked_terms: set[str] = set()
    acked_visits: set[tuple[str, str]] = set()
    for w, answer in run.outcome.acked:
        if w.kind == "ae":
            term = w.payload["term"]
            acked_terms.add(term)
            rows = aes.get(term, [])
            if len(rows) != 1:
                problems.append(f"AE {term!r}: acknowledged as id {answer.get('id')}, stored {len(rows)} times")
                continue
            row = rows[0]
            sent = {k: w.payload[k] for k in ("severity", "relatedness", "action_taken", "outcome")}
            got = {k: row[k] for k in sent}
            if got != sent or str(row["onset_date"])[:10] != w.payload["onset_date"] or row["id"] != answer["id"]:
                problems.append(f"AE {term!r}: stored {got}, id {row['id']}; sent {sent}, acknowledged id {answer}")
            if row["participant"] != w.participant:
                problems.append(f"AE {term!r}: stored for {row['participant']}, sent for {w.participant}")
        else:
            where = (w.participant, str(w.visit))
            acked_visits.add(where)
            rows = scores.get(where, [])
            if len(rows) != 1:
                problems.append(f"ALSFRS-R {where}: acknowledged, stored {len(rows)} times")
                continue
            row = rows[0]
            items = w.payload["items"]
            got_items = {k: row[k] for k in items}
            if got_items != items or row["total"] != sum(items.values()):
                problems.append(f"ALSFRS-R {where}: stored {got_items} total {row['total']}; sent {items}")
    for term, rows in aes.items():
        if term not in acked_terms:
            problems.append(f"AE {term!r} stored {len(rows)} times but never acknowledged")
    for where, rows in scores.items():
        if where not in acked_visits:
            problems.append(f"ALSFRS-R {where} stored ({len(rows)} assessments) but never acknowledged")
    return problems

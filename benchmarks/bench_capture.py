"""Capture services under many users: 20 threads × 200 mixed reads and writes, on SQLite and PostgreSQL.

Each thread is a site coordinator or a monitor doing what they do at a visit: read the participant
list (a page), a participant's visits, the open queries and a page of the audit trail; record a
monthly visit and its ALSFRS-R. One visit in every thread's work is also recorded by another
thread at the same moment, so the intended conflicts are counted apart from errors.

Prints throughput and p50/p95/p99 per operation, the conflict and error counts, and the ratio of
each p95 to the same operations run by ONE thread in the same run (the baseline: what
concurrency costs). Goals (issue 8): p95 of a read under 20 ms, of an ALSFRS-R write under 50 ms,
no error other than intended conflicts.

    .venv/bin/python benchmarks/bench_capture.py [--threads 20] [--ops 200] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from capture_data import ELIGIBLE, PG_ADMIN, SCREEN, VISITS, items

READ_P95_MS, WRITE_P95_MS = 20.0, 50.0


def _database(backend: str, folder: Path) -> str:
    if backend == "sqlite":
        return str(folder / "capture-bench.db")
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS alstrial_bench_capture WITH (FORCE)")
        conn.execute("CREATE DATABASE alstrial_bench_capture")
    return PG_ADMIN.rsplit("/", 1)[0] + "/alstrial_bench_capture"


def _set_up(url: str, participants: int, threads: int) -> tuple[object, dict[str, object], list[str]]:
    """A trial with one coordinator per site, a monitor, and ``participants`` randomized at day 0."""
    from alstrial import services as sv
    from alstrial.protocol import default_protocol_path
    from alstrial.services.setup import bootstrap_actor
    from alstrial.store import init_db

    db = sv.CaptureDB(init_db(url))
    sv.setup_trial(
        db,
        default_protocol_path().read_text(encoding="utf-8"),
        seed=7,
        admin_username="admin",
        admin_password="bench-owner-passphrase",
    )
    admin = bootstrap_actor(db, "admin")
    actors: dict[str, object] = {}
    for site in ("S01", "S02", "S03", "S04", "S05", "S06"):
        for role in ("site_coordinator", "investigator"):
            name = f"{role}_{site}"
            sv.add_user(db, admin, username=name, role=role, password=None, site=site)
            actors[name] = bootstrap_actor(db, name)
    sv.add_user(db, admin, username="monitor", role="monitor", password=None)
    actors["monitor"] = bootstrap_actor(db, "monitor")
    codes = []
    for i in range(participants):
        site = f"S0{(i % threads) % 6 + 1}"  # participant i belongs to thread i % threads
        sc, inv = actors[f"site_coordinator_{site}"], actors[f"investigator_{site}"]
        code = sv.screen_participant(db, sc, screened_on=SCREEN, consent_date=SCREEN, values=ELIGIBLE).participant
        sv.enrol_participant(db, sc, code, enrolled_on=SCREEN)
        sv.record_visit(db, sc, code, "SCR", SCREEN)
        sv.record_alsfrs(db, sc, code, "SCR", items(38))
        sv.record_visit(db, sc, code, "RUNIN", SCREEN + timedelta(days=55))
        sv.record_alsfrs(db, sc, code, "RUNIN", items(34))
        sv.randomize_participant(db, inv, code)
        sv.record_visit(db, sc, code, "W0", SCREEN + timedelta(days=90))
        codes.append(code)
    return db, actors, codes


def _work(
    db: object, actors: dict[str, object], codes: list[str], thread: int, threads: int, ops: int, shared: str | None
) -> list:
    """The operations one thread performs, as (name, callable) in a seeded random order."""
    from alstrial import services as sv

    mine = [c for i, c in enumerate(codes) if i % threads == thread]
    site = mine[0].split("-")[0]
    sc = actors[f"site_coordinator_{site}"]
    monitor = actors["monitor"]
    day0 = SCREEN + timedelta(days=90)
    writes: list[tuple[str, Callable[[], object]]] = []
    for code in mine:
        for n, visit in enumerate(VISITS, start=1):
            when = day0 + timedelta(days=28 * n)
            writes.append(("record_visit", lambda c=code, v=visit, d=when: sv.record_visit(db, sc, c, v, d)))
            writes.append(("record_alsfrs", lambda c=code, v=visit: sv.record_alsfrs(db, sc, c, v, items(33))))
    rng = random.Random(thread)
    reads: list[tuple[str, Callable[[], object]]] = [
        ("list_participants", lambda: sv.list_participants(db, sc, limit=25)),
        ("visit_data", lambda: sv.visit_data(db, sc, rng.choice(mine))),
        ("list_queries", lambda: sv.list_queries(db, sc, status="open", limit=25)),
        ("audit_log", lambda: sv.audit_log(db, monitor, participant=rng.choice(mine), limit=50)),
    ]
    n_writes = min(len(writes), int(ops * 0.3))
    plan = writes[:n_writes] + [rng.choice(reads) for _ in range(ops - n_writes)]
    # reads interleave with the writes, which keep their order (a visit before its ALSFRS-R)
    order = sorted(range(len(plan)), key=lambda i: i if i < n_writes else rng.uniform(0, n_writes))
    plan = [plan[i] for i in order]
    if shared is not None:
        plan.append(("record_visit", lambda: sv.record_visit(db, sc, shared, "W4", day0 + timedelta(days=28))))
    return plan


def _run(url: str, threads: int, ops: int, participants: int) -> dict:
    from alstrial.errors import AlstrialError
    from alstrial.services import Conflict

    db, actors, codes = _set_up(url, participants, threads)
    # the shared visit: recorded by every thread of one site at the end of its work (one wins)
    contested = codes[-1]
    owner_site = ((len(codes) - 1) % threads) % 6
    plans = [
        _work(db, actors, codes, t, threads, ops, contested if threads > 1 and t % 6 == owner_site else None)
        for t in range(threads)
    ]
    times: dict[str, list[float]] = defaultdict(list)
    counts = {"conflicts": 0, "errors": 0}
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def worker(plan: list) -> None:
        barrier.wait()
        for name, call in plan:
            t0 = time.perf_counter()
            try:
                call()
            except Conflict:
                with lock:
                    counts["conflicts"] += 1
                continue
            except AlstrialError as exc:
                with lock:
                    counts["errors"] += 1
                    errors.append(f"{name}: {exc}")
                continue
            elapsed = (time.perf_counter() - t0) * 1000
            with lock:
                times[name].append(elapsed)

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(p,)) for p in plans]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - started
    db.dispose()  # type: ignore[attr-defined]
    return {"times": times, "wall": wall, "ops": sum(len(p) for p in plans), **counts, "first_errors": errors[:5]}


def _pct(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def _report(backend: str, conc: dict, base: dict, threads: int) -> None:
    print(
        f"\n{backend}: {threads} threads, {conc['ops']} operations in {conc['wall']:.1f} s "
        f"= {conc['ops'] / conc['wall']:.0f} ops/s (one thread: {base['ops'] / base['wall']:.0f} ops/s)"
    )
    print(
        f"  {'operation':<18}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'goal p95':>10}"
        f"{'1-thread p95':>14}{'ratio':>7}"
    )
    for name in sorted(conc["times"]):
        v = conc["times"][name]
        b = base["times"].get(name) or [float("nan")]
        goal = WRITE_P95_MS if name.startswith("record") else READ_P95_MS
        p95, b95 = _pct(v, 95), _pct(b, 95)
        print(
            f"  {name:<18}{len(v):>6}{_pct(v, 50):>9.1f}{p95:>9.1f}{_pct(v, 99):>9.1f}{goal:>10.0f}"
            f"{b95:>14.1f}{p95 / b95:>7.1f}"
        )
    print(f"  intended conflicts: {conc['conflicts']}   other errors: {conc['errors']}")
    for line in conc["first_errors"]:
        print(f"    {line}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=20)
    ap.add_argument("--ops", type=int, default=200)
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    args = ap.parse_args(argv)
    from argon2 import PasswordHasher

    from alstrial.services import passwords

    passwords.use_hasher(PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))  # set-up only: no sign-ins
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    participants = args.threads * 3
    for backend in backends:
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "one").mkdir()
            (Path(tmp) / "many").mkdir()
            base = _run(_database(backend, Path(tmp) / "one"), 1, args.ops, participants)
            conc = _run(_database(backend, Path(tmp) / "many"), args.threads, args.ops, participants)
            _report(backend, conc, base, args.threads)


if __name__ == "__main__":
    main()

"""Concurrent writers: appends are serialised, so the chain stays intact (both backends), including when
the writers conflict over the same record."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from alstrial import services as sv
from conftest import make_trial


def test_parallel_services_keep_one_unbroken_chain(capture_db) -> None:
    t = make_trial(capture_db)
    before = len(sv.audit_log(capture_db, t["admin"]))
    sites = [f"X{i:02d}" for i in range(24)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda code: sv.add_site(capture_db, t["admin"], code, f"Site {code}"), sites))
    result = sv.verify_audit_trail(capture_db.engine)
    assert result.ok, str(result)
    log = sv.audit_log(capture_db, t["admin"])
    assert [line.seq for line in log] == list(range(1, len(log) + 1))
    created = [line.changes["code"]["new"] for line in log[before:] if line.action == "site.create"]
    assert sorted(created) == sites  # every site once, each with its own record


def test_conflicting_writers_leave_one_record_and_an_intact_chain(capture_db) -> None:
    """Twelve threads add the same site at once: one succeeds, the others get the domain conflict."""
    t = make_trial(capture_db)
    barrier = threading.Barrier(12)

    def add(_: int) -> str:
        barrier.wait()
        try:
            sv.add_site(capture_db, t["admin"], "DUP", "Duplicate")
            return "ok"
        except sv.Conflict:
            return "conflict"

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = sorted(pool.map(add, range(12)))
    assert outcomes == ["conflict"] * 11 + ["ok"]
    assert sv.verify_audit_trail(capture_db.engine).ok
    log = sv.audit_log(capture_db, t["admin"], action="site.create")
    assert [line.changes["code"]["new"] for line in log].count("DUP") == 1

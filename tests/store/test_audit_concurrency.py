"""Concurrent writers: appends are serialised, so the chain stays intact (both backends)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from alstrial import services as sv
from conftest import make_trial


def test_parallel_services_keep_one_unbroken_chain(capture_db) -> None:
    t = make_trial(capture_db)
    sites = [f"X{i:02d}" for i in range(24)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda code: sv.add_site(capture_db, t["admin"], code, f"Site {code}"), sites))
    result = sv.verify_audit_trail(capture_db.engine)
    assert result.ok, str(result)
    log = sv.audit_log(capture_db, t["admin"])
    assert [line.seq for line in log] == list(range(1, len(log) + 1))
    assert sorted(line.entity_id for line in log if line.action == "site.create")[-1]
    assert sum(line.action == "site.create" for line in log) == len(sites)

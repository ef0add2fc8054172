"""Every public service under injected database failures: only domain errors come out, nothing is half-written.

The failures are the driver's own exceptions (what SQLite's sqlite3 and PostgreSQL's psycopg raise
for a unique violation, a busy or locked database and a lost connection), raised at the k-th
statement of a call for every k until the call runs through; then the call runs for real so the
next call in the list finds the state it needs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from capture_calls import ADMIN_CALLS, READ_CALLS, WRITE_CALLS, prepare
from sqlalchemy import event

from alstrial import services as sv
from alstrial.errors import AlstrialError
from conftest import snapshot

FAILURES: dict[str, Callable[[Any], Exception]] = {
    "unique violation": lambda dbapi: dbapi.IntegrityError("duplicate key value violates unique constraint"),
    "busy": lambda dbapi: dbapi.OperationalError("database is locked"),
    "connection lost": lambda dbapi: dbapi.OperationalError("server closed the connection unexpectedly"),
}
EXPECTED_KIND = {"unique violation": "conflict", "busy": "busy", "connection lost": "busy"}


class _Injector:
    def __init__(self, at: int, make: Callable[[Any], Exception]) -> None:
        self.at, self.make, self.seen, self.fired = at, make, 0, False

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.seen += 1
        if self.seen == self.at:
            self.fired = True
            raise self.make(conn.dialect.loaded_dbapi)


@contextmanager
def failing_at(db: sv.CaptureDB, at: int, make: Callable[[Any], Exception]) -> Iterator[_Injector]:
    injector = _Injector(at, make)
    event.listen(db.engine, "before_cursor_execute", injector)
    try:
        yield injector
    finally:
        event.remove(db.engine, "before_cursor_execute", injector)


def _exercise(trial, run: Callable[[], object], *, max_statements: int = 80) -> int:
    """Fail the call at statement 1, 2, ... with every failure kind until it runs through; return its statement count.

    Each failed attempt must raise a domain error of the right kind and leave the database as it was.
    """
    for at in range(1, max_statements + 1):
        for failure, make in FAILURES.items():
            before = snapshot(trial.db)
            error: AlstrialError | None = None
            with failing_at(trial.db, at, make) as injector:
                try:
                    run()
                except AlstrialError as exc:
                    error = exc
            if not injector.fired:
                assert error is None, f"refused without an injected failure: {error}"
                return at - 1
            assert error is not None, f"the call succeeded although statement {at} failed ({failure})"
            assert error.kind == EXPECTED_KIND[failure], (at, failure, error)
            assert snapshot(trial.db) == before, f"statement {at} failed ({failure}) but something was written"
    pytest.fail(f"the call still issued statements after {max_statements}")


def test_write_services_leak_no_driver_error_and_write_nothing_on_failure(trial) -> None:
    """Each write call fails at every one of its statements in turn (rolled back), then runs once for real."""
    ctx = prepare(trial)
    counts = {}
    admin = {c.name: c for c in ADMIN_CALLS}
    # an order in which each call's precondition holds: unblinding needs the lock
    order = [
        "unlock_account",
        "deactivate_user",
        "set_password",
        "emergency_unblind",
        "lock_database",
        "unlock_database",
        "lock_database",
        "unblind_trial",
    ]
    assert set(order) == set(admin), "a new admin call must be placed in this order"
    for call in [*WRITE_CALLS, *(admin[n] for n in order)]:
        counts[call.name] = _exercise(trial, lambda call=call: call.run(trial, trial[call.role], ctx))
    assert min(counts.values()) >= 2, counts  # every call was failed at least at its first statements


def test_read_services_leak_no_driver_error(trial) -> None:
    ctx = prepare(trial)
    for name, read in READ_CALLS.items():
        role = {"participant_arm": "unblinded_statistician", "allocation_list": "unblinded_statistician"}.get(name)
        role = role or ("monitor" if name.startswith("audit_log") else "admin")
        assert _exercise(trial, lambda read=read, role=role: read(trial, trial[role], ctx)) >= 1, name

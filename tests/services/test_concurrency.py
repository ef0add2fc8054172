"""Many people at once: real threads and processes on SQLite and PostgreSQL.

Concurrent writers of the same record get exactly one success and domain conflicts; a stale
correction is refused with who changed the record; SQLite readers do not wait for readers, for a
writer holding the write lock, or for a sign-in. No SQLAlchemy or driver exception escapes.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import text

from alstrial import services as sv
from alstrial.errors import AlstrialError
from alstrial.services import passwords
from alstrial.services.context import CaptureDB
from alstrial.services.setup import bootstrap_actor
from conftest import ELIGIBLE, PASSWORD, SCREEN_DAY, alsfrs_items

THREADS = 6


def _race(n: int, call: Callable[[int], object]) -> list[object]:
    """Run ``call(i)`` in n threads released together; each outcome is a result or the exception raised."""
    barrier = threading.Barrier(n)

    def one(i: int) -> object:
        barrier.wait()
        try:
            return call(i)
        except Exception as exc:  # every outcome is inspected below
            return exc

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def _only_domain_errors(outcomes: list[object]) -> list[Exception]:
    errors = [o for o in outcomes if isinstance(o, Exception)]
    leaked = [e for e in errors if not isinstance(e, AlstrialError)]
    assert leaked == [], f"raw exceptions escaped a service: {leaked!r}"
    return errors


def test_writers_of_the_same_visit_get_one_success_and_conflicts(trial) -> None:
    code = trial.randomized()
    sc = trial["site_coordinator"]
    day0 = SCREEN_DAY + timedelta(days=90)
    visits = _race(THREADS, lambda i: sv.record_visit(trial.db, sc, code, "W0", day0))
    errors = _only_domain_errors(visits)
    assert len(visits) - len(errors) == 1
    assert all(isinstance(e, sv.Conflict) for e in errors), errors
    outcomes = _race(THREADS, lambda i: sv.record_alsfrs(trial.db, sc, code, "W0", alsfrs_items(30 + i)))
    errors = _only_domain_errors(outcomes)
    assert len(outcomes) - len(errors) == 1
    assert all(isinstance(e, sv.Conflict) for e in errors), errors
    (row,) = [r for r in sv.visit_data(trial.db, sc, code) if r["visit"] == "W0"]
    winner = next(o for o in outcomes if not isinstance(o, Exception))
    assert row["alsfrs_r_total"] == winner.score.total  # type: ignore[attr-defined]
    assert sv.verify_audit_trail(trial.db.engine).ok


def test_stale_corrections_are_refused_with_who_changed_the_record(trial) -> None:
    from conftest import no_trace

    code = trial.at_day0()
    sc, inv = trial["site_coordinator"], trial["investigator"]
    sv.record_alsfrs(trial.db, sc, code, "W0", alsfrs_items(40))
    (row,) = [r for r in sv.visit_data(trial.db, inv, code) if r["visit"] == "W0"]
    aid, read_version = row["alsfrs_r_id"], row["alsfrs_r_version"]
    assert read_version == 1
    first = sv.correct_value(
        trial.db, sc, entity="alsfrs_assessment", entity_id=aid, field="q2", new_value=3, reason="source", version=1
    )
    assert first.version == 2
    with no_trace(trial.db), pytest.raises(sv.StaleVersion) as stale:
        sv.correct_value(
            trial.db, inv, entity="alsfrs_assessment", entity_id=aid, field="q3", new_value=3, reason="mine", version=1
        )
    assert stale.value.current_version == 2 and stale.value.changed_by == "site_coordinator"
    assert "site_coordinator" in str(stale.value) and "version 2" in str(stale.value)
    assert stale.value.kind == "conflict"


def test_concurrent_corrections_of_one_version_leave_exactly_one_change(trial) -> None:
    code = trial.at_day0()
    sc = trial["site_coordinator"]
    sv.record_alsfrs(trial.db, sc, code, "W0", alsfrs_items(40))
    (row,) = [r for r in sv.visit_data(trial.db, sc, code) if r["visit"] == "W0"]
    outcomes = _race(
        THREADS,
        lambda i: sv.correct_value(
            trial.db,
            sc,
            entity="alsfrs_assessment",
            entity_id=row["alsfrs_r_id"],
            field="q12",
            new_value=i % 4,
            reason=f"thread {i}",
            version=1,
        ),
    )
    errors = _only_domain_errors(outcomes)
    successes = [o for o in outcomes if not isinstance(o, Exception)]
    # a thread writing the value that is already there is told "nothing to correct" — also a conflict-kind error
    assert len(successes) == 1 and all(e.kind == "conflict" for e in errors), outcomes  # type: ignore[attr-defined]
    corrections = sv.audit_log(trial.db, trial["monitor"], action="alsfrs_assessment.correct")
    assert len(corrections) == 1


def test_retried_creates_with_a_request_key_create_nothing_twice(trial) -> None:
    sc = trial["site_coordinator"]
    values = dict(ELIGIBLE, sex="F")
    outcomes = _race(
        THREADS,
        lambda i: sv.screen_participant(
            trial.db, sc, screened_on=SCREEN_DAY, consent_date=SCREEN_DAY, values=values, request_key="form-17"
        ),
    )
    assert _only_domain_errors(outcomes) == []
    assert len({o.participant for o in outcomes}) == 1  # type: ignore[attr-defined]
    assert len(sv.list_participants(trial.db, sc)) == 1
    again = sv.screen_participant(
        trial.db, sc, screened_on=SCREEN_DAY, consent_date=SCREEN_DAY, values=values, request_key="form-17"
    )
    assert again == outcomes[0]
    # the same key for another kind of request is refused, not replayed
    with pytest.raises(sv.Conflict, match="already used"):
        sv.record_adverse_event(
            trial.db,
            sc,
            again.participant,
            term="Headache",
            onset_date=SCREEN_DAY,
            severity="MILD",
            relatedness="NOT RELATED",
            action_taken="NOT APPLICABLE",
            outcome="RECOVERED/RESOLVED",
            request_key="form-17",
        )
    ae = [
        sv.record_adverse_event(
            trial.db,
            sc,
            again.participant,
            term="Headache",
            onset_date=SCREEN_DAY,
            severity="MILD",
            relatedness="NOT RELATED",
            action_taken="NOT APPLICABLE",
            outcome="RECOVERED/RESOLVED",
            request_key="ae-1",
        )
        for _ in range(3)
    ]
    assert len(set(ae)) == 1 and len(sv.list_adverse_events(trial.db, sc)) == 1


# ---------------------------------------------------------------- SQLite readers never queue
def _finishes_while(hold: Callable[[threading.Event, threading.Event], None], read: Callable[[], object]) -> None:
    """``read`` must complete while ``hold`` keeps its transaction (or sign-in) open."""
    holding, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=hold, args=(holding, release), daemon=True)
    holder.start()
    assert holding.wait(30), "the holder did not start"
    done: list[object] = []
    reader = threading.Thread(target=lambda: done.append(read()), daemon=True)
    reader.start()
    # generous: a reader that queued behind the holder would wait for ``release``, which never
    # comes before this join gives up
    reader.join(60)
    finished_while_held = not reader.is_alive()
    release.set()
    holder.join(60)
    reader.join(60)
    assert finished_while_held, "the read waited for the other transaction"
    assert done and isinstance(done[0], list)


def test_sqlite_reads_do_not_wait_for_a_reader_or_a_writer(sqlite_trial) -> None:
    t = sqlite_trial
    t.screen()
    monitor = t["monitor"]

    def reader(holding: threading.Event, release: threading.Event) -> None:
        with t.db.read_sessions.begin() as s:
            s.execute(text("SELECT count(*) FROM participant")).scalar()
            holding.set()
            release.wait(120)

    def writer(holding: threading.Event, release: threading.Event) -> None:
        with t.db.sessions.begin() as s:  # BEGIN IMMEDIATE: holds SQLite's write lock
            s.execute(text("UPDATE site SET name = name"))
            holding.set()
            release.wait(120)

    _finishes_while(reader, lambda: sv.list_participants(t.db, monitor))
    _finishes_while(writer, lambda: sv.list_participants(t.db, monitor))


def test_reads_do_not_wait_for_a_sign_in(sqlite_trial, monkeypatch) -> None:
    t = sqlite_trial
    real = passwords.verify_password
    events: dict[str, threading.Event] = {}

    def slow_verify(stored: str, password: str) -> bool:
        events["holding"].set()
        events["release"].wait(120)
        return real(stored, password)

    monkeypatch.setattr("alstrial.services.users.verify_password", slow_verify)

    def sign_in(holding: threading.Event, release: threading.Event) -> None:
        events.update(holding=holding, release=release)
        sv.authenticate(t.db, "monitor", PASSWORD)

    _finishes_while(sign_in, lambda: sv.list_participants(t.db, t["monitor"]))


# ---------------------------------------------------------------- processes
def _record_in_process(url: str, code: str, total: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    from argon2 import PasswordHasher

    passwords.use_hasher(PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    db = CaptureDB.from_url(url)
    try:
        actor = bootstrap_actor(db, "site_coordinator")
        sv.record_alsfrs(db, actor, code, "W0", alsfrs_items(total))
        queue.put("ok")
    except AlstrialError as exc:
        queue.put(type(exc).__name__ + ":" + exc.kind)
    except Exception as exc:  # a leak: reported to the parent
        queue.put("LEAK:" + repr(exc))
    finally:
        db.dispose()


@pytest.mark.slow
def test_processes_recording_the_same_visit_get_one_success(trial, db_url: str) -> None:
    code = trial.at_day0()
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_record_in_process, args=(db_url, code, 30 + i, queue)) for i in range(3)]
    for p in procs:
        p.start()
    outcomes = sorted(queue.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(60)
    assert outcomes == ["Conflict:conflict", "Conflict:conflict", "ok"], outcomes

"""Database fixtures: every capture test runs on SQLite and on PostgreSQL.

PostgreSQL: 127.0.0.1:5432, trust auth (user ``postgres`` or ``root``), or ``ALSTRIAL_TEST_PG_URL``.
Each xdist worker migrates its own database once; each test then starts from an emptied one
(TRUNCATE with triggers disabled, guards reinstalled). SQLite tests copy a migrated template
file. Without a PostgreSQL server the PostgreSQL half is skipped locally and FAILS under CI=true.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from alstrial.protocol import default_protocol_path
from alstrial.services import passwords
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB
from alstrial.store import Base, init_db, make_engine
from alstrial.store.audit_chain import GENESIS_HASH
from alstrial.store.audit_guard import install_audit_guards

PASSWORD = "correct-horse-battery"
# A developer's own audit key must not turn every unkeyed test trial into a keyed one (the keyed-chain
# tests set it themselves).
for _name in ("ALSTRIAL_AUDIT_KEY", "ALSTRIAL_AUDIT_KEY_FILE"):
    os.environ.pop(_name, None)

BACKENDS = ("sqlite", "postgresql")


# ---------------------------------------------------------------- PostgreSQL server
def _pg_admin_url() -> str | None:
    import psycopg

    candidates = (
        [os.environ["ALSTRIAL_TEST_PG_URL"]]
        if os.environ.get("ALSTRIAL_TEST_PG_URL")
        else [
            "postgresql://postgres@127.0.0.1:5432/test",
            "postgresql://root@127.0.0.1:5432/test",
        ]
    )
    for url in candidates:
        try:
            psycopg.connect(url, connect_timeout=3).close()
            return url
        except psycopg.Error:
            continue
    return None


def _require_pg() -> str:
    url = _pg_admin_url()
    if url is None:
        msg = "PostgreSQL is not reachable at 127.0.0.1:5432 (set ALSTRIAL_TEST_PG_URL)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{msg}; CI=true requires it", pytrace=False)
        pytest.skip(msg)
    return url


@pytest.fixture(scope="session")
def pg_worker_url(worker_id: str) -> Iterator[str]:
    """A migrated PostgreSQL database private to this xdist worker."""
    import psycopg

    admin = _require_pg()
    # one database per checkout, test run and worker: two runs at once on one machine (two checkouts,
    # or a targeted run beside a full one) must not truncate each other's tables
    checkout = hashlib.sha256(str(Path(__file__).resolve().parent).encode()).hexdigest()[:10]
    run = os.getppid() if worker_id != "master" else os.getpid()  # xdist workers share their controller
    prefix = f"alstrial_test_{checkout}_"
    name = f"{prefix}{run}_{worker_id}"
    with psycopg.connect(admin, autocommit=True) as conn:
        for (old,) in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (prefix + "%",)):
            if not _run_alive(old.removeprefix(prefix).split("_")[0]):
                conn.execute(f"DROP DATABASE IF EXISTS {old} WITH (FORCE)")  # left by a finished run
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    url = admin.rsplit("/", 1)[0] + f"/{name}"
    init_db(url).dispose()
    # not dropped at the end (a DROP DATABASE checkpoint costs seconds); the next run replaces it
    yield url


def _run_alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def _reset_pg(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        conn.exec_driver_sql(f"INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '{GENESIS_HASH}')")
    with engine.begin() as conn:
        install_audit_guards(conn)
    engine.dispose()


# ---------------------------------------------------------------- SQLite template
@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    init_db(str(path)).dispose()
    return str(path)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: object, sqlite_template: str) -> str:
    """An empty, migrated capture database on each backend."""
    if request.param == "sqlite":
        target = os.path.join(str(tmp_path), "capture.db")
        shutil.copyfile(sqlite_template, target)
        return target
    url = request.getfixturevalue("pg_worker_url")
    _reset_pg(url)
    return url


@pytest.fixture
def both_backends(request: pytest.FixtureRequest, tmp_path: object, sqlite_template: str) -> dict[str, str]:
    """An empty, migrated database on EACH backend at once, for tests comparing the two engines."""
    target = os.path.join(str(tmp_path), "capture.db")
    shutil.copyfile(sqlite_template, target)
    url = request.getfixturevalue("pg_worker_url")
    _reset_pg(url)
    return {"sqlite": target, "postgresql": url}


@pytest.fixture(autouse=True, scope="session")
def _fast_passwords() -> Iterator[None]:
    """Argon2 with minimal cost: hundreds of users are created across the suite."""
    previous = passwords.use_hasher(PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    yield
    passwords.use_hasher(previous)


@pytest.fixture
def capture_db(db_url: str) -> Iterator[CaptureDB]:
    db = CaptureDB.from_url(db_url)
    yield db
    db.dispose()


# ---------------------------------------------------------------- "no trace" helper
def snapshot(db: CaptureDB) -> dict[str, object]:
    """Row counts of every table plus the audit chain's head (one query): equal snapshots = nothing written."""
    names = [t.name for t in Base.metadata.sorted_tables]
    counts = ", ".join(f"(SELECT count(*) FROM {n})" for n in names)
    head = "(SELECT seq FROM audit_head), (SELECT hash FROM audit_head), (SELECT max(seq) FROM audit_record)"
    sql = f"SELECT {counts}, {head}"
    with db.engine.connect() as conn:
        row = conn.exec_driver_sql(sql).one()
    out: dict[str, object] = dict(zip(names, row[: len(names)], strict=True))
    out["audit_head"] = (row[-3], row[-2])
    out["audit_last"] = row[-1]
    return out


def table_digests(db: CaptureDB) -> dict[str, str]:
    """A digest of every table's rows (order-free): an UPDATE changes it even when no row count does."""
    import hashlib

    from sqlalchemy import select

    out = {}
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = sorted(repr(tuple(r)) for r in conn.execute(select(table)))
            out[table.name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return out


def changed_tables(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {k for k in before if before[k] != after[k]}


@contextmanager
def no_trace(db: CaptureDB) -> Iterator[None]:
    """Assert the block (expected to raise inside ``pytest.raises``) changed nothing: no row added or
    removed, and no row updated (every table's content digest is unchanged)."""
    before, digests = snapshot(db), table_digests(db)
    try:
        yield
    finally:
        after = snapshot(db)
        assert after == before, {k: (before[k], after[k]) for k in before if before[k] != after[k]}
        assert not (updated := changed_tables(digests, table_digests(db))), f"rows updated in {sorted(updated)}"


# ---------------------------------------------------------------- a seeded trial
ELIGIBLE = {
    "age_years": 45,
    "sex": "M",
    "el_escorial": "probable",
    "months_since_onset": 12,
    "onset_region": "limb",
    "alsfrs_r_total": 38,
    "svc_percent_predicted": 80.0,
    "riluzole": True,
    "prior_stem_cell_therapy": False,
    "edaravone_within_30_days": False,
    "experimental_agent_within_30_days": False,
}
SCREEN_DAY = date(2025, 1, 6)
ITEMS = ("q1", "q2", "q3", "q4", "q5a", "q6", "q7", "q8", "q9", "q10", "q11", "q12")


def alsfrs_items(total: int) -> dict[str, object]:
    """Item responses (5a form) that add up to ``total``."""
    values = dict.fromkeys(ITEMS, 4)
    missing = 48 - total
    for code in ITEMS:
        take = min(4, missing)
        values[code] -= take
        missing -= take
    return dict(values)


@dataclass
class Trial:
    """A set-up trial with one user of every role (site roles at S01) and workflow shortcuts."""

    db: CaptureDB
    actors: dict[str, Actor]
    other_site: Actor
    counter: list[int] = field(default_factory=lambda: [0])

    def __getitem__(self, role: str) -> Actor:
        return self.actors[role]

    def screen(self, *, eligible: bool = True, **overrides: object) -> str:
        from alstrial.services import screen_participant

        values = dict(ELIGIBLE, **overrides)
        if not eligible:
            values["age_years"] = 70
        return screen_participant(
            self.db, self["site_coordinator"], screened_on=SCREEN_DAY, consent_date=SCREEN_DAY, values=values
        ).participant

    def enrolled(self, **overrides: object) -> str:
        from alstrial.services import enrol_participant, record_alsfrs, record_visit

        code = self.screen(**overrides)
        actor = self["site_coordinator"]
        enrol_participant(self.db, actor, code, enrolled_on=SCREEN_DAY)
        record_visit(self.db, actor, code, "SCR", SCREEN_DAY)
        record_alsfrs(self.db, actor, code, "SCR", alsfrs_items(38))
        record_visit(self.db, actor, code, "RUNIN", SCREEN_DAY + timedelta(days=55))
        record_alsfrs(self.db, actor, code, "RUNIN", alsfrs_items(34))
        return code

    def randomized(self, **overrides: object) -> str:
        from alstrial.services import randomize_participant

        code = self.enrolled(**overrides)
        randomize_participant(self.db, self["investigator"], code)
        return code

    def at_day0(self) -> str:
        from alstrial.services import record_visit

        code = self.randomized()
        record_visit(self.db, self["investigator"], code, "W0", SCREEN_DAY + timedelta(days=90))
        return code


def make_trial(db: CaptureDB, protocol_text: str | None = None, seed: int | None = 20250101) -> Trial:
    from alstrial.services import add_user, setup_trial
    from alstrial.services.policy import ROLES, SITE_ROLES
    from alstrial.services.setup import bootstrap_actor

    text_ = protocol_text if protocol_text is not None else default_protocol_path().read_text(encoding="utf-8")
    setup_trial(db, text_, seed=seed, admin_username="admin", admin_password=PASSWORD)
    admin = bootstrap_actor(db, "admin")
    actors = {"admin": admin}
    for role in ROLES:
        if role == "admin":
            continue
        site = "S01" if role in SITE_ROLES else None
        add_user(db, admin, username=role, role=role, password=PASSWORD, site=site)
        actors[role] = bootstrap_actor(db, role)
    add_user(db, admin, username="investigator2", role="investigator", password=PASSWORD, site="S02")
    return Trial(db, actors, bootstrap_actor(db, "investigator2"))


@pytest.fixture
def trial(capture_db: CaptureDB) -> Trial:
    return make_trial(capture_db)


@pytest.fixture
def sqlite_trial(sqlite_template: str, tmp_path: object) -> Iterator[Trial]:
    """A set-up trial on SQLite only, for what is specific to SQLite (file backups, reader locks)."""
    target = os.path.join(str(tmp_path), "sqlite-trial.db")
    shutil.copyfile(sqlite_template, target)
    db = CaptureDB.from_url(target)
    yield make_trial(db)
    db.dispose()


@pytest.fixture
def no_trace_of() -> Callable[[CaptureDB], object]:
    return no_trace

"""One small simulated trial per backend, exported at the points the interop tests look at.

The trial runs once per session and backend (SQLite file; a PostgreSQL database of its own, so
other tests truncating the worker's database cannot touch it): SDTM is exported while blinded by
a blinded and an unblinded role, then the database is locked and unblinded and SDTM and ADaM are
exported again. Test modules import the ``*_fixture`` functions to use the fixtures.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from alstrial.interop.adam import export_adam
from alstrial.interop.sdtm import export_sdtm
from alstrial.protocol import default_protocol_path, load_protocol
from alstrial.services.context import CaptureDB
from alstrial.services.setup import setup_trial
from alstrial.simulate.virtual_sites import ADMIN, VirtualSites
from alstrial.store import init_db

N_RANDOMIZED = 4
PASSWORD = "interop-test-password-2026"
#: accounts that can sign in (the simulator's virtual staff cannot): name -> (role, site)
USERS = {
    "stat": ("statistician", None),
    "ustat": ("unblinded_statistician", None),
    "dm": ("data_manager", None),
    "coord": ("site_coordinator", "S01"),
    "inv": ("investigator", "S02"),
}
DATA = Path(__file__).resolve().parents[1] / "data"


@dataclass(frozen=True)
class ExportedTrial:
    backend: str
    url: str
    blinded: Path  # SDTM by "stat" before unblinding
    unblinded_role: Path  # SDTM by "ustat" (may see arms) before unblinding
    sdtm: Path  # SDTM by "stat" after unblinding
    adam: Path
    password: str = PASSWORD


def _pg_url(worker_id: str) -> str:
    import psycopg

    from conftest import _require_pg

    admin = _require_pg()
    checkout = hashlib.sha256(str(Path(__file__).resolve().parents[1]).encode()).hexdigest()[:10]
    name = f"alstrial_interop_{checkout}_{worker_id}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return admin.rsplit("/", 1)[0] + f"/{name}"


def _discontinue_one(db: CaptureDB, sites: VirtualSites) -> None:
    """The simulator never stops treatment early: stop one participant's, so DS has a treatment disposition."""
    from sqlalchemy import select

    from alstrial.services.disposition import discontinue_treatment
    from alstrial.store.models import Participant, Site

    with db.sessions() as s:
        code, site, day0 = s.execute(
            select(Participant.code, Site.code, Participant.day0)
            .join(Site, Site.id == Participant.site_id)
            .where(Participant.status == "randomized")
            .order_by(Participant.code)
        ).first()  # type: ignore[misc]
    on = day0 + timedelta(days=60)
    actor = sites.actors[f"inv_{site.lower()}"]
    discontinue_treatment(db, actor, code, on=on, reason_code="ADVERSE EVENT", decided_by="investigator")


def _run(url: str, out: Path, backend: str) -> ExportedTrial:
    from alstrial.services.users import add_user, authenticate

    db = CaptureDB(init_db(url))
    try:
        setup_trial(
            db,
            default_protocol_path().read_text(encoding="utf-8"),
            seed=11,
            admin_username=ADMIN,
            admin_password=PASSWORD,
        )
        sites = VirtualSites(db, load_protocol(), seed=11)
        sites.create_users()
        admin = authenticate(db, ADMIN, PASSWORD)
        for username, (role, site) in USERS.items():
            add_user(db, admin, username=f"x_{username}", role=role, password=PASSWORD, site=site)
        sites.run(n_randomized=N_RANDOMIZED)
        _discontinue_one(db, sites)
        export_sdtm(db, authenticate(db, "x_stat", PASSWORD), out / "blinded")
        export_sdtm(db, authenticate(db, "x_ustat", PASSWORD), out / "unblinded_role")
        sites.close(PASSWORD)
        export_sdtm(db, authenticate(db, "x_stat", PASSWORD), out / "sdtm")
        export_adam(db, authenticate(db, "x_stat", PASSWORD), out / "adam")
    finally:
        db.dispose()
    return ExportedTrial(backend, url, out / "blinded", out / "unblinded_role", out / "sdtm", out / "adam")


@pytest.fixture(scope="session", name="sqlite_trial")
def sqlite_trial_fixture(tmp_path_factory: pytest.TempPathFactory) -> ExportedTrial:
    out = tmp_path_factory.mktemp("interop-sqlite")
    return _run(str(out / "trial.db"), out, "sqlite")


@pytest.fixture(scope="session", name="pg_trial")
def pg_trial_fixture(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> ExportedTrial:
    out = tmp_path_factory.mktemp("interop-pg")
    return _run(_pg_url(worker_id), out, "postgresql")


@pytest.fixture(params=["sqlite", "postgresql"], name="exported")
def exported_fixture(request: pytest.FixtureRequest) -> ExportedTrial:
    """The exported trial on each backend."""
    name = "sqlite_trial" if request.param == "sqlite" else "pg_trial"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]

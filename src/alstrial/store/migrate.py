"""Run the Alembic migrations shipped inside the package (``store/migrations``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from alstrial.store.engine import make_engine, normalise_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the packaged migrations (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database behind ``engine`` (its own connection, so SQLite pragmas apply)."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def init_db(url: str, *, scratch: bool = False) -> Engine:
    """Create or upgrade the schema at ``url`` to the newest revision; returns the engine
    (``scratch``: see :func:`alstrial.store.engine.make_engine`)."""
    engine = make_engine(url, scratch=scratch)
    upgrade(engine)
    return engine

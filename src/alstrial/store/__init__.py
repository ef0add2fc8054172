"""The capture database: ORM models, engines, packaged migrations and the hash-chained audit trail."""

from alstrial.store.audit_chain import AuditEntry, ChainVerification, canonical_json, verify_chain
from alstrial.store.base import Base
from alstrial.store.engine import make_engine, make_session_factory, normalise_url
from alstrial.store.migrate import alembic_config, init_db, upgrade
from alstrial.store.types import UTCDateTime, utcnow

__all__ = [
    "AuditEntry",
    "Base",
    "ChainVerification",
    "UTCDateTime",
    "alembic_config",
    "canonical_json",
    "init_db",
    "make_engine",
    "make_session_factory",
    "normalise_url",
    "upgrade",
    "utcnow",
    "verify_chain",
]

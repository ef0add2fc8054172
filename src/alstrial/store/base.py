"""The declarative base: one metadata with an explicit constraint naming convention.

Named constraints make migrations reproducible across SQLite and PostgreSQL (autogenerate
compares names) and let a later migration drop a constraint by a predictable name.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every ORM model of the capture database."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)

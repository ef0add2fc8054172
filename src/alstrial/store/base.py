"""The declarative base: one metadata with an explicit constraint naming convention.

Named constraints make migrations reproducible across SQLite and PostgreSQL (autogenerate
compares names) and let a later migration drop a constraint by a predictable name.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

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


class Versioned:
    """An editable record: ``version`` starts at 1 and grows by one with every change.

    A change names the version it was made against; SQLAlchemy's version counter also makes a
    concurrent UPDATE of the same row fail instead of silently overwriting (optimistic locking).
    """

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.version}

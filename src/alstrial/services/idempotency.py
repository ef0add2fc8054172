"""Client request keys: a retried create (double click, back button, network retry) returns the first result.

A creating service decorated with :func:`idempotent` takes ``request_key=``. The first call with a
key stores the service's result, as JSON, in the same transaction as the record it created; any
later call by the same user with the same key returns that stored result and writes nothing.
Two concurrent calls with one key cannot both commit (a unique key per user): the loser sees the
winner's result. A key reused for a different service is refused.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import typing
from collections.abc import Callable
from contextvars import ContextVar
from datetime import date, datetime
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import select

from alstrial.errors import Problem, ValidationFailed
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB, Tx, transaction
from alstrial.services.exceptions import Conflict
from alstrial.store.audit_chain import canonical_json
from alstrial.store.models import RequestKey
from alstrial.store.types import utcnow

P = ParamSpec("P")
R = TypeVar("R")

#: (key, service) of the call in progress, for :func:`remember`
_PENDING: ContextVar[tuple[str, str] | None] = ContextVar("alstrial_request_key", default=None)


def _check_key(key: object) -> str:
    if not isinstance(key, str) or not 1 <= len(key) <= 128 or not key.isprintable() or key.strip() != key:
        raise ValidationFailed(
            [Problem("request_key", key, "expected 1-128 printable characters without surrounding spaces")]
        )
    return key


def _stored(db: CaptureDB, actor: Actor, key: str) -> tuple[str, str] | None:
    """The stored (service, result) of ``key``; the actor is re-checked like on any call (read transaction)."""
    with transaction(db, actor, None, write=False) as tx:
        row = tx.session.execute(
            select(RequestKey.service, RequestKey.result_json).where(
                RequestKey.user_id == actor.user_id, RequestKey.key == key
            )
        ).first()
    return (row.service, row.result_json) if row is not None else None


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _encode(result: object) -> str:
    return canonical_json(_plain(result))


def _decode(kind: Any, value: Any) -> Any:
    """Rebuild a result of type ``kind`` from its JSON form (flat dataclasses, dates, tuples, scalars)."""
    if value is None:
        return None
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        hints = typing.get_type_hints(kind)
        return kind(**{f.name: _decode(hints[f.name], value.get(f.name)) for f in dataclasses.fields(kind)})
    origin = typing.get_origin(kind)
    if origin is tuple:
        return tuple(value)
    if origin is list:
        (item,) = typing.get_args(kind)
        return [_decode(item, v) for v in value]
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        return _decode(args[0], value) if len(args) == 1 else value
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    return value


def idempotent(result_type: type) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Give a creating service ``request_key=`` (see the module docstring).

    The service declares ``request_key: str | None = None`` (so that callers' types check) and
    returns its result through :func:`remember` inside its transaction.
    """

    def wrap(service: Callable[P, R]) -> Callable[P, R]:
        name = service.__name__

        @functools.wraps(service)
        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            key = kwargs.get("request_key")
            if key is None:
                return service(*args, **kwargs)
            key = _check_key(key)
            db, actor = args[0], args[1]
            assert isinstance(db, CaptureDB) and isinstance(actor, Actor)

            def replay() -> R | None:
                stored = _stored(db, actor, key)
                if stored is None:
                    return None
                if stored[0] != name:
                    raise Conflict(
                        f"request key {key!r} was already used for {stored[0].replace('_', ' ')}; "
                        "use a new key for a new request"
                    )
                return typing.cast(R, _decode(result_type, json.loads(stored[1])))

            if (first := replay()) is not None:
                return first
            token = _PENDING.set((key, name))
            try:
                return service(*args, **kwargs)
            except Conflict:
                if (first := replay()) is not None:  # a concurrent call with the same key won
                    return first
                raise
            finally:
                _PENDING.reset(token)

        return call

    return wrap


def remember(tx: Tx, result: R) -> R:
    """Store ``result`` under the pending request key (if any), in the service's own transaction."""
    pending = _PENDING.get()
    if pending is not None:
        key, service = pending
        tx.session.add(
            RequestKey(
                user_id=tx.actor.user_id, key=key, service=service, result_json=_encode(result), created_at=utcnow()
            )
        )
    return result

"""Every route of the app, flattened: for tests that must cover each one (blinding, site isolation)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from fastapi import FastAPI
from starlette.routing import BaseRoute, Mount, Route


def _walk(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    for route in routes:
        inner = getattr(route, "original_router", None)  # FastAPI ≥ 0.120 keeps included routers whole
        if inner is not None:
            yield from _walk(inner.routes)
        else:
            yield route


def iter_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """``(method, path)`` of every endpoint, and ``("MOUNT", path)`` for mounted apps (static files)."""
    for route in _walk(app.routes):
        if isinstance(route, Mount):
            yield "MOUNT", route.path
        elif isinstance(route, Route):
            for method in sorted((route.methods or set()) - {"HEAD"}):
                yield method, route.path

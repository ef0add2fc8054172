"""`alstrial serve`: the web pages and JSON API for a capture database, under uvicorn.

Mount in ``cli.py``: ``app.command(name="serve")(serve.serve)``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import typer

from alstrial.commands.capture import cli_errors


def serve(
    db: Annotated[
        str | None, typer.Option("--db", help="Database URL or SQLite file path (default: ALSTRIAL_DB).")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    dev: Annotated[
        bool, typer.Option("--dev", help="Development mode: allows the built-in secret key (never in production).")
    ] = False,
    workers: Annotated[int, typer.Option(help="Worker threads for the synchronous routes.", min=1, max=256)] = 40,
) -> None:
    """Serve the capture pages and the /api/v1 JSON API (settings from ALSTRIAL_* variables)."""
    import anyio.to_thread
    import uvicorn

    from alstrial.web.app import create_app
    from alstrial.web.settings import Settings

    overrides: dict[str, object] = {}
    if db is not None:
        overrides["db"] = db
    if dev:
        overrides["mode"] = "development"
    with cli_errors():
        settings = Settings(**overrides)  # type: ignore[arg-type]
        app = create_app(settings)

    @asynccontextmanager
    async def lifespan(_app: object) -> AsyncIterator[None]:
        # the routes are plain ``def``: each request holds one worker thread while the services run
        anyio.to_thread.current_default_thread_limiter().total_tokens = workers
        yield

    app.router.lifespan_context = lifespan
    shown = settings.db
    if "://" in shown:  # never print a database password
        from sqlalchemy.engine import make_url

        shown = make_url(shown).render_as_string(hide_password=True)
    typer.echo(f"alstrial: serving {shown} at http://{host}:{port}/ (API documentation: /api/v1/docs)")
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=True)

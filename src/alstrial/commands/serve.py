"""`alstrial serve`: the web pages and JSON API for a capture database, under uvicorn.

Mount in ``cli.py``: ``app.command(name="serve")(serve.serve)``.
"""

from __future__ import annotations

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
    workers: Annotated[
        int | None,
        typer.Option(help="Threads per process for the synchronous routes (default 40).", min=1, max=256),
    ] = None,
    processes: Annotated[
        int,
        typer.Option(
            help="Server processes sharing the port (one Python process uses one core; e.g. the number of cores).",
            min=1,
            max=64,
        ),
    ] = 1,
) -> None:
    """Serve the capture pages and the /api/v1 JSON API (settings from ALSTRIAL_* variables)."""
    import os

    import uvicorn

    from alstrial.web.settings import Settings

    overrides: dict[str, str] = {}
    if db is not None:
        overrides["db"] = db
    if dev:
        overrides["mode"] = "development"
    if workers is not None:
        overrides["threads"] = str(workers)
    with cli_errors():
        settings = Settings(**overrides)  # type: ignore[arg-type]  # refused here, once, with a clear message
    shown = settings.db
    if "://" in shown:  # never print a database password
        from sqlalchemy.engine import make_url

        shown = make_url(shown).render_as_string(hide_password=True)
    typer.echo(f"alstrial: serving {shown} at http://{host}:{port}/ (API documentation: /api/v1/docs)")
    if processes == 1:
        from alstrial.web.app import create_app

        with cli_errors():
            app = create_app(settings)
        uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=True)
        return
    # each process builds its own app from the same settings, passed down as ALSTRIAL_* variables;
    # sessions and tokens are signed cookies and the sign-in lockout lives in the database, so any
    # process can answer any request. The database is checked here once, so a wrong path is one
    # clear error rather than a traceback from every worker.
    from alstrial.services import CaptureDB

    with cli_errors():
        CaptureDB.from_url(settings.db).dispose()
    os.environ.update({f"ALSTRIAL_{k.upper()}": v for k, v in overrides.items()})
    uvicorn.run(
        "alstrial.web.app:app_from_environment",
        factory=True,
        workers=processes,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=True,
    )

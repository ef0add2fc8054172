"""The CLI app to test: ``alstrial.cli.app`` once the lead mounts the capture and audit groups there;
until then an app mounted exactly as the modules' docstrings ask, so the tests exercise the same commands."""

from __future__ import annotations

import typer
from typer.main import get_command

from alstrial import cli
from alstrial.commands import audit, capture


def _mounted(app: typer.Typer) -> bool:
    group = get_command(app)
    return all(name in group.commands for name in ("init", "import", "user", "site", "audit"))  # type: ignore[attr-defined]


def capture_cli() -> typer.Typer:
    if _mounted(cli.app):
        return cli.app
    app = typer.Typer(no_args_is_help=True)
    app.command(name="init")(capture.init)
    app.command(name="import")(capture.import_table)
    app.add_typer(capture.user_app, name="user")
    app.add_typer(capture.site_app, name="site")
    app.add_typer(audit.app, name="audit")
    return app


MOUNTED_IN_MAIN_CLI = _mounted(cli.app)

"""The alstrial command line: one Typer app assembling thin command groups.

Each group lives in ``alstrial/commands/<group>.py`` and only parses arguments, calls the
layer that does the work and prints; no business rules live here.
"""

from __future__ import annotations

import typer

from alstrial import __version__
from alstrial.commands import (
    alsfrs,
    analyze,
    audit,
    backup,
    capture,
    demo,
    export,
    lifecycle,
    protocol,
    randomize,
    records,
    redcap,
    serve,
    simulate,
    stats,
)

app = typer.Typer(
    name="alstrial",
    no_args_is_help=True,
    add_completion=False,
    help="alstrial: run a randomized ALS cell-therapy trial from first patient to final report.",
)
app.add_typer(protocol.app, name="protocol")
app.add_typer(alsfrs.app, name="alsfrs")
app.add_typer(randomize.app, name="randomize")
app.add_typer(stats.app, name="stats")
app.command(name="demo")(demo.demo)
app.command(name="simulate")(simulate.simulate)
app.command(name="init")(capture.init)
app.command(name="import")(capture.import_table)
capture.user_app.command("deactivate")(lifecycle.user_deactivate)
capture.user_app.command("password")(lifecycle.user_password)
app.add_typer(capture.user_app, name="user")
app.add_typer(capture.site_app, name="site")
app.add_typer(audit.app, name="audit")
app.command(name="verify")(audit.verify_all)
app.command(name="backup")(backup.backup)
app.command(name="restore")(backup.restore)
app.add_typer(export.app, name="export")
app.add_typer(redcap.app, name="redcap")
app.add_typer(redcap.odm_app, name="odm")
app.command(name="lock")(lifecycle.lock)
app.command(name="unlock")(lifecycle.unlock)
app.command(name="unblind")(lifecycle.unblind)
app.command(name="sign")(lifecycle.sign)
app.command(name="signatures")(lifecycle.signatures)
app.command(name="analyze")(analyze.analyze)
app.command(name="report")(analyze.report)
app.command(name="serve")(serve.serve)
records.mount(app, randomize.app)


@app.command()
def version() -> None:
    """Print the alstrial version."""
    typer.echo(__version__)


def main() -> None:  # pragma: no cover - console entry point
    app()

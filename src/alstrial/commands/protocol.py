"""`alstrial protocol show|check`: read a trial design file."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from alstrial.protocol import ProtocolError, load_protocol
from alstrial.protocol.summary import render_protocol

app = typer.Typer(no_args_is_help=True, help="Show or check a protocol file (the trial design as data).")


@app.command()
def show(
    path: Path | None = typer.Argument(None, help="Protocol TOML file; the shipped seed trial when omitted."),
) -> None:
    """Print a readable summary of a protocol, with the visit schedule as a table."""
    try:
        protocol = load_protocol(path)
    except ProtocolError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    Console(width=160).print(render_protocol(protocol))


@app.command()
def check(path: Path = typer.Argument(..., help="Protocol TOML file to validate.")) -> None:
    """Validate a protocol file: exit 0 when valid, exit 2 listing every problem otherwise."""
    try:
        protocol = load_protocol(path)
    except ProtocolError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{path}: valid protocol {protocol.id!r} ({len(protocol.arms)} arms, {len(protocol.visits)} visits)")

"""`alstrial audit verify` and `alstrial audit log`: check and read the hash-chained audit trail.

Mount in ``cli.py``: ``app.add_typer(audit.app, name="audit")``.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from alstrial.commands.capture import DbOption, cli_errors, run_as

app = typer.Typer(no_args_is_help=True, help="Check and read the audit trail.")


@app.command("verify")
def verify(
    db: DbOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Recompute the hash chain. Exit 0 when intact, 1 naming the first bad record."""
    from alstrial.services.audit import verify_audit_trail
    from alstrial.store import make_engine

    with cli_errors():
        engine = make_engine(db)
        try:
            result = verify_audit_trail(engine)
        except Exception as exc:  # a missing table or unreachable server is bad input, not a crash
            typer.echo(f"error: cannot read the audit trail at {db!r}: {exc}", err=True)
            raise typer.Exit(2) from None
        finally:
            engine.dispose()
    typer.echo(json.dumps(result.to_dict()) if as_json else str(result))
    raise typer.Exit(0 if result.ok else 1)


@app.command("log")
def log(
    db: DbOption,
    user: Annotated[str, typer.Option("--user", help="Act as this user.", envvar="ALSTRIAL_USER")],
    participant: Annotated[str | None, typer.Option(help="Only this participant's history.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Print the audit history (who, role, when, what, old → new, reason)."""
    from alstrial.services.audit import audit_log

    lines = run_as(db, user, lambda capture, actor: audit_log(capture, actor, participant=participant))
    for line in lines:
        typer.echo(json.dumps(line.to_dict(), default=str) if as_json else str(line))

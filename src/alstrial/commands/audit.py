"""`alstrial audit verify` and `alstrial audit log`: check and read the hash-chained audit trail.

Mount in ``cli.py``: ``app.add_typer(audit.app, name="audit")``.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from alstrial.commands.capture import DbOption, cli_errors, run_as

app = typer.Typer(no_args_is_help=True, help="Check and read the audit trail.")


ExpectHead = Annotated[
    str | None,
    typer.Option(
        "--expect-head",
        help="A head hash kept outside the database (printed at lock and in reports); it must still be in the chain.",
    ),
]


@app.command("verify")
def verify(
    db: DbOption,
    expect_head: ExpectHead = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Recompute the hash chain (and find the anchor). Exit 0 when intact, 1 when not, 2 for bad input."""
    from alstrial.services.audit import anchor_in_chain, verify_audit_trail
    from alstrial.store import make_engine

    with cli_errors():
        engine = make_engine(db, must_exist=True)
        try:
            chain = verify_audit_trail(engine)
            anchored = None if expect_head is None else anchor_in_chain(engine, expect_head)
        finally:
            engine.dispose()
    ok = chain.ok and anchored is not False
    if as_json:
        typer.echo(json.dumps({**chain.to_dict(), "expect_head": expect_head, "anchored": anchored}))
    else:
        typer.echo(str(chain))
        if expect_head is not None:
            typer.echo(f"anchor {expect_head}: " + ("found in the chain" if anchored else "NOT in the chain"))
    raise typer.Exit(0 if ok else 1)


def verify_all(
    db: DbOption,
    expect_head: ExpectHead = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Verify a trial database: the audit chain, every clinical table replayed against it, and the anchor.

    Each difference is listed as table, row, field, expected, found. Exit 0 when everything holds,
    1 when anything does not, 2 for bad input (missing file, unreachable server, bad hash).
    """
    from alstrial.services.audit import verify_database
    from alstrial.store import make_engine

    with cli_errors():
        engine = make_engine(db, must_exist=True)
        try:
            result = verify_database(engine, expect_head=expect_head)
        finally:
            engine.dispose()
    typer.echo(json.dumps(result.to_dict(), default=str) if as_json else str(result))
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

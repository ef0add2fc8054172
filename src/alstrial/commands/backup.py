"""`alstrial backup` and `alstrial restore`: an online, consistent copy and a restore checked row by row.

Mount in ``cli.py``: ``app.command(name="backup")(backup.backup)`` and the same for ``restore``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from alstrial.commands.capture import DbOption, cli_errors


def backup(
    db: DbOption,
    out: Annotated[Path, typer.Option("--out", help="The backup file to write (never overwritten).")],
) -> None:
    """Back up a trial database while it is in use (SQLite online backup; pg_dump on a snapshot).

    Writes OUT and OUT.manifest.json (row count and SHA-256 of every table, the audit head).
    """
    from alstrial.store.backup import backup as run_backup

    with cli_errors():
        manifest = run_backup(db, out)
    typer.echo(f"backed up {manifest} to {out}")


def restore(
    source: Annotated[Path, typer.Option("--from", help="A backup file written by `alstrial backup`.")],
    db: DbOption,
) -> None:
    """Restore a backup into a new SQLite file or an empty PostgreSQL database, then check it.

    Every table's row count and checksum must equal the backup's manifest, and the restored
    database must pass `alstrial verify` (audit chain and data replayed against it).
    """
    from alstrial.services.audit import verify_database
    from alstrial.store import make_engine
    from alstrial.store.backup import restore as run_restore

    with cli_errors():
        manifest = run_restore(source, db)
        engine = make_engine(db, must_exist=True)
        try:
            verified = verify_database(engine)
        finally:
            engine.dispose()
    typer.echo(f"restored {manifest}; every table matches the backup's manifest")
    typer.echo(str(verified))
    raise typer.Exit(0 if verified.ok else 1)

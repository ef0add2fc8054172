"""`alstrial init`, `alstrial user add`, `alstrial site add` and `alstrial import`: thin commands over the
capture services. Commands act as a named user (``--user``; password from ``ALSTRIAL_PASSWORD`` or a
prompt) and are subject to the same role checks as every other client.

Mount in ``cli.py``::

    app.command(name="init")(capture.init)
    app.command(name="import")(capture.import_table)
    app.add_typer(capture.user_app, name="user")
    app.add_typer(capture.site_app, name="site")
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from alstrial.errors import AlstrialError, Problem, ValidationFailed

if TYPE_CHECKING:
    from alstrial.services.actor import Actor
    from alstrial.services.context import CaptureDB

T = TypeVar("T")

DbOption = Annotated[str, typer.Option("--db", help="Database URL or SQLite file path.", envvar="ALSTRIAL_DB")]
UserOption = Annotated[str, typer.Option("--user", help="Act as this user.", envvar="ALSTRIAL_USER")]

user_app = typer.Typer(no_args_is_help=True, help="Manage users of the capture database.")
site_app = typer.Typer(no_args_is_help=True, help="Manage recruiting sites.")


def password_from_env_or_prompt(env: str, prompt: str, *, confirm: bool = False) -> str:
    """A password from an environment variable, else a hidden prompt (never a command-line argument)."""
    value = os.environ.get(env)
    if value:
        return value
    try:
        return str(typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm))
    except (typer.Abort, EOFError):  # no terminal and nothing piped in: say what to do instead of "Aborted."
        raise ValidationFailed(
            [
                Problem(
                    env, "(empty)" if value == "" else "(not set)", "no password given: set it or type it at the prompt"
                )
            ]
        ) from None


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn alstrial errors into a readable message and exit code 2 (no traceback)."""
    try:
        yield
    except ValidationFailed as exc:
        typer.echo(f"error: {exc.context or 'invalid input'}", err=True)
        for p in exc.problems:
            typer.echo(f"  {p.where}: value {p.value!r} — {p.reason}", err=True)
        raise typer.Exit(2) from None
    except AlstrialError as exc:
        typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(2) from None


def run_as(db_url: str, username: str, action: Callable[[CaptureDB, Actor], T]) -> T:
    """Sign in as ``username`` and run ``action(db, actor)`` with CLI error handling."""
    from alstrial.services.context import CaptureDB
    from alstrial.services.users import authenticate

    with cli_errors():
        db = CaptureDB.from_url(db_url)
        try:
            actor = authenticate(
                db, username, password_from_env_or_prompt("ALSTRIAL_PASSWORD", f"password for {username}")
            )
            return action(db, actor)
        finally:
            db.dispose()


def init(
    db: DbOption,
    protocol: Annotated[Path | None, typer.Option(help="Protocol TOML (default: the shipped seed trial).")] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            help="Seed of the concealed list, for reproducible TEST databases only (default: a 128-bit secret)."
        ),
    ] = None,
    admin: Annotated[str, typer.Option(help="User name of the first admin.")] = "admin",
    full_name: Annotated[str, typer.Option(help="Full name of the first admin.")] = "Administrator",
) -> None:
    """Create the schema, load the protocol, generate the concealed list and create the first admin.

    The admin password comes from ALSTRIAL_PASSWORD or a hidden prompt.
    """
    from alstrial.protocol import default_protocol_path
    from alstrial.services.context import CaptureDB
    from alstrial.services.setup import check_password, setup_trial
    from alstrial.store import init_db

    with cli_errors():
        path = protocol or default_protocol_path()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValidationFailed([Problem("protocol", str(path), f"cannot be read: {exc}")]) from None
        password = password_from_env_or_prompt("ALSTRIAL_PASSWORD", f"password for {admin}", confirm=True)
        check_password(password, username=admin)  # before anything is created on disk
        engine = init_db(db)
        capture = CaptureDB(engine)
        try:
            result = setup_trial(
                capture,
                text,
                seed=seed,
                admin_username=admin,
                admin_password=password,
                admin_full_name=full_name,
            )
        finally:
            capture.dispose()
        typer.echo(str(result))


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="New user's name.")],
    role: Annotated[str, typer.Option(help="Role of the new user.")],
    db: DbOption,
    user: UserOption,
    site: Annotated[str | None, typer.Option(help="Site code (site roles only).")] = None,
    full_name: Annotated[str, typer.Option(help="Full name.")] = "",
) -> None:
    """Add a user (admin only). The new password comes from ALSTRIAL_NEW_PASSWORD or a prompt."""
    from alstrial.services.users import UserView, add_user

    def act(capture: CaptureDB, actor: Actor) -> UserView:
        pw = password_from_env_or_prompt("ALSTRIAL_NEW_PASSWORD", f"password for new user {username}", confirm=True)
        return add_user(
            capture,
            actor,
            username=username,
            role=role,
            password=pw,
            full_name=full_name,
            site=site,
        )

    view = run_as(db, user, act)
    typer.echo(f"user {view.username!r} added as {view.role}" + (f" at {view.site}" if view.site else ""))


@site_app.command("add")
def site_add(
    code: Annotated[str, typer.Argument(help="Site code, e.g. S07.")],
    name: Annotated[str, typer.Argument(help="Site name.")],
    db: DbOption,
    user: UserOption,
    country: Annotated[str, typer.Option(help="ISO country code.")] = "US",
) -> None:
    """Add a recruiting site (admin only)."""
    from alstrial.services.users import add_site

    run_as(db, user, lambda capture, actor: add_site(capture, actor, code, name, country))
    typer.echo(f"site {code!r} added")


def import_table(
    table: Annotated[
        str,
        typer.Argument(
            help="screening, alsfrs, runin, aspirations, lots, labs, doses, adverse_events, intercurrent_events,"
            " discontinuations or withdrawals."
        ),
    ],
    csv_path: Annotated[Path, typer.Argument(metavar="CSV", help="UTF-8 CSV file with a header row.")],
    db: DbOption,
    user: UserOption,
) -> None:
    """Import a CSV table through the services: all rows or none; every bad row is listed (exit 2).

    \b
    The run-in, in order:
      screening  leave alsfrs_r_runin_decline blank: IN6 is pending until the run-in ends
      alsfrs     the ALSFRS-R at SCR and at RUNIN (end of the run-in)
      runin      columns participant[,enrolled_on]: enrols an eligible participant on
                 enrolled_on if needed, computes the decline (SCR minus RUNIN) and judges
                 the pending criteria; a run-in failure becomes a screen failure and is
                 listed in the output (it is not an import error)
    Randomization is never imported: it draws from the concealed list, one participant at a
    time (`alstrial randomize participant CODE...`).

    \b
    The product, in order:
      aspirations  participant, aspirated_at, volume_ml
      lots         participant, dose_number, manufactured_on, expires_on[, release]: each
                   row's lot number and COI id are printed (and `alstrial records lots`)
      doses        participant, dose_number, lot_number, label_coi_id, administered_at
    """
    from alstrial.services.imports import import_rows, read_csv

    with cli_errors():
        try:
            rows = read_csv(csv_path)
        except (OSError, UnicodeDecodeError) as exc:
            raise ValidationFailed([Problem("CSV", str(csv_path), f"cannot be read: {exc}")]) from None
    result = run_as(db, user, lambda capture, actor: import_rows(capture, actor, table, rows))
    typer.echo(str(result))

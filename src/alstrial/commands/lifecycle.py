"""`alstrial lock`, `unlock`, `unblind`, `sign`, `signatures`, `user deactivate` and `user password`.

Thin commands over the capture services, under the same role checks as every client. Each step
that is electronically signed (lock, unlock, unblinding, casebook sign-off) uses the password
given at sign-in (``ALSTRIAL_PASSWORD`` or a hidden prompt) as the signature's password
re-entry: one command is one signing, with both components of the signature entered for it
(21 CFR 11.200(a)(1)). Refusals print what happened and exit with code 2.

Mount in ``cli.py``::

    app.command(name="lock")(lifecycle.lock)
    app.command(name="unlock")(lifecycle.unlock)
    app.command(name="unblind")(lifecycle.unblind)
    app.command(name="sign")(lifecycle.sign)
    app.command(name="signatures")(lifecycle.signatures)
    capture.user_app.command("deactivate")(lifecycle.user_deactivate)
    capture.user_app.command("password")(lifecycle.user_password)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from alstrial.commands.capture import DbOption, UserOption, cli_errors, password_from_env_or_prompt, run_as

if TYPE_CHECKING:
    from alstrial.services.actor import Actor
    from alstrial.services.context import CaptureDB

T = TypeVar("T")

ReasonOption = Annotated[str, typer.Option("--reason", help="Why (recorded in the audit trail and signed).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def run_signed(db_url: str, username: str, action: Callable[[CaptureDB, Actor, str], T]) -> T:
    """Sign in as ``username``; the same password is the signature's re-entered password."""
    from alstrial.services.context import CaptureDB
    from alstrial.services.users import authenticate

    with cli_errors():
        db = CaptureDB.from_url(db_url)
        try:
            password = password_from_env_or_prompt("ALSTRIAL_PASSWORD", f"password for {username} (signs)")
            actor = authenticate(db, username, password)
            return action(db, actor, password)
        finally:
            db.dispose()


def _print(result: object, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result.to_dict(), default=str))  # type: ignore[attr-defined]
    else:
        typer.echo(str(result))


def _print_anchor(db_url: str) -> None:
    """The audit head right after the lock: kept outside the database, it anchors `verify --expect-head`."""
    from alstrial.services.audit import verify_audit_trail
    from alstrial.store import make_engine

    with cli_errors():
        engine = make_engine(db_url, must_exist=True)
        try:
            head = verify_audit_trail(engine).head_hash
        finally:
            engine.dispose()
    typer.echo(f"audit head {head} — keep it outside the database; `alstrial verify --expect-head` checks it later")


def lock(
    db: DbOption,
    user: UserOption,
    reason: ReasonOption,
    meaning: Annotated[
        str, typer.Option(help="Meaning of the signature: authorship, review, approval or responsibility.")
    ] = "approval",
    override: Annotated[
        str | None,
        typer.Option(help="Admin only: lock despite open queries or unsigned casebooks, for this reason."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Lock the database (admin or data manager), signed.

    Refused while queries are unresolved or randomized participants' casebooks are unsigned or
    changed since signing, unless an admin gives --override with a reason.
    """
    from alstrial.services.lock import lock_database

    result = run_signed(
        db,
        user,
        lambda capture, actor, pw: lock_database(
            capture, actor, reason=reason, password=pw, meaning=meaning, override_reason=override
        ),
    )
    _print(result, as_json)
    if not as_json:
        _print_anchor(db)


def unlock(
    db: DbOption,
    user: UserOption,
    reason: ReasonOption,
    meaning: Annotated[
        str, typer.Option(help="Meaning of the signature: authorship, review, approval or responsibility.")
    ] = "approval",
    as_json: JsonOption = False,
) -> None:
    """Unlock the database (admin), signed, with a reason; impossible once the trial is unblinded."""
    from alstrial.services.lock import unlock_database

    result = run_signed(
        db,
        user,
        lambda capture, actor, pw: unlock_database(capture, actor, reason=reason, password=pw, meaning=meaning),
    )
    _print(result, as_json)


def unblind(
    db: DbOption,
    user: UserOption,
    reason: ReasonOption,
    participant: Annotated[
        str | None,
        typer.Option(help="Emergency unblinding of this one participant (their investigator); else full unblinding."),
    ] = None,
    meaning: Annotated[
        str, typer.Option(help="Meaning of the signature: authorship, review, approval or responsibility.")
    ] = "responsibility",
    as_json: JsonOption = False,
) -> None:
    """Unblind the trial after the lock, or one participant in an emergency; signed.

    Full unblinding: admin or unblinded statistician, locked database. With --participant: an
    emergency unblinding that shows one participant's arm to their investigator.
    """
    from alstrial.services.lock import emergency_unblind, unblind_trial

    if participant is None:
        result = run_signed(
            db,
            user,
            lambda capture, actor, pw: unblind_trial(capture, actor, reason=reason, password=pw, meaning=meaning),
        )
        _print(result, as_json)
        return
    code = participant
    emergency = run_signed(
        db,
        user,
        lambda capture, actor, pw: emergency_unblind(capture, actor, code, reason=reason, password=pw, meaning=meaning),
    )
    if as_json:
        _print(emergency, True)
        return
    typer.echo(f"participant {emergency.participant}: arm {emergency.arm} (shown to you only; the arm is not audited)")
    typer.echo(str(emergency.signature))


def sign(
    db: DbOption,
    user: UserOption,
    participant: Annotated[str, typer.Option(help="The participant whose casebook you sign.")],
    meaning: Annotated[str, typer.Option(help="authorship, review, approval or responsibility.")],
    visit: Annotated[str | None, typer.Option(help="Sign only this visit's page (e.g. W4).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Sign a participant's casebook, or one visit of it (investigators of the participant's site)."""
    from alstrial.services.signatures import sign_casebook

    view = run_signed(
        db,
        user,
        lambda capture, actor, pw: sign_casebook(
            capture, actor, participant, password=pw, meaning=meaning, visit=visit
        ),
    )
    _print(view, as_json)


def signatures(
    db: DbOption,
    user: UserOption,
    participant: Annotated[str | None, typer.Option(help="Only this participant's signatures.")] = None,
    kind: Annotated[
        str | None,
        typer.Option(help="casebook, database_lock, database_unlock, unblind_trial or emergency_unblind."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List electronic signatures, each checked: valid, or broken with what changed since signing."""
    from alstrial.services.signatures import list_signatures

    views = run_as(db, user, lambda capture, actor: list_signatures(capture, actor, participant=participant, kind=kind))
    for view in views:
        _print(view, as_json)
    if not views and not as_json:
        typer.echo("no signatures")


def user_deactivate(
    username: Annotated[str, typer.Argument(help="The account to deactivate.")],
    db: DbOption,
    user: UserOption,
    reason: ReasonOption,
) -> None:
    """Deactivate an account (admin): it can no longer sign in or sign; its records and signatures stay."""
    from alstrial.services.users import deactivate_user

    view = run_as(db, user, lambda capture, actor: deactivate_user(capture, actor, username, reason=reason))
    typer.echo(f"user {view.username!r} ({view.role}) deactivated")


def user_password(
    db: DbOption,
    user: UserOption,
    username: Annotated[
        str | None, typer.Argument(help="Whose password: omit for your own; another user's is an admin reset.")
    ] = None,
) -> None:
    """Change your own password (your sign-in password is the current one), or reset a user's as an admin.

    The new password comes from ALSTRIAL_NEW_PASSWORD or a hidden prompt (asked twice).
    """
    from alstrial.services.users import set_password

    target = username or user

    def act(capture: CaptureDB, actor: Actor, current: str) -> object:
        new = password_from_env_or_prompt("ALSTRIAL_NEW_PASSWORD", f"new password for {target}", confirm=True)
        own = target == actor.username
        return set_password(capture, actor, target, new_password=new, current_password=current if own else None)

    run_signed(db, user, act)
    typer.echo(f"password of {target!r} {'changed' if target == user else 'reset'}")


__all__ = ["lock", "sign", "signatures", "unblind", "unlock", "user_deactivate", "user_password"]

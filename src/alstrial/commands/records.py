"""Command-line access to the capture steps that have no CSV import: randomizing participants, an
unblinded role reading arms, listing records (with the ids that queries and corrections name) and
the data-query cycle. With these and `alstrial import`, a trial can be run from the command line alone.

Mount in ``cli.py``::

    records.mount(app, randomize.app)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from alstrial.commands.capture import DbOption, UserOption, run_as
from alstrial.errors import Problem, ValidationFailed

if TYPE_CHECKING:
    from alstrial.services.actor import Actor
    from alstrial.services.context import CaptureDB

query_app = typer.Typer(no_args_is_help=True, help="Raise, answer, close and list data queries.")

JsonOption = Annotated[bool, typer.Option("--json", help="One JSON document instead of text.")]
ParticipantFilter = Annotated[str | None, typer.Option("--participant", help="Only this participant.")]

#: What `alstrial records` lists, and the read service behind each (all filter to what the user may see).
RECORD_TABLES = ("participants", "adverse_events", "intercurrent_events", "lab_samples", "doses", "lots")


def _jsonable(value: Any) -> Any:
    return value.to_dict() if hasattr(value, "to_dict") else value


def _emit(rows: Sequence[Any], as_json: bool) -> None:
    """Rows as a JSON list, or one line per row of ``key=value`` pairs (what a person scans)."""
    dicts = [_jsonable(r) for r in rows]
    if as_json:
        typer.echo(json.dumps(dicts, default=str))
        return
    if not dicts:
        typer.echo("(none)")
    for d in dicts:
        typer.echo("  ".join(f"{k}={v}" for k, v in d.items() if v is not None))


def randomize_participants(
    codes: Annotated[list[str], typer.Argument(metavar="CODE...", help="Participants to randomize, in this order.")],
    db: DbOption,
    user: UserOption,
    as_json: JsonOption = False,
) -> None:
    """Randomize enrolled participants from the concealed list, one transaction each; prints the kit codes.

    Stops at the first participant that cannot be randomized; those before it stay randomized (each
    randomization is its own signed-off step, as at a site).
    """
    from alstrial.services.randomization import randomize_participant

    def act(capture: CaptureDB, actor: Actor) -> list[Any]:
        return [randomize_participant(capture, actor, code) for code in codes]

    results = run_as(db, user, act)
    if as_json:
        _emit(results, True)
    else:
        for r in results:
            typer.echo(str(r))


def participant_arms(
    codes: Annotated[list[str], typer.Argument(metavar="CODE...", help="Randomized participants.")],
    db: DbOption,
    user: UserOption,
    as_json: JsonOption = False,
) -> None:
    """The arm of each participant, for unblinded roles only (pharmacist, unblinded statistician, ...)."""
    from alstrial.services.randomization import participant_arm

    arms = run_as(db, user, lambda capture, actor: {c: participant_arm(capture, actor, c) for c in codes})
    if as_json:
        typer.echo(json.dumps(arms))
    else:
        for code, arm in arms.items():
            typer.echo(f"{code}\t{arm}")


def _lister(table: str) -> Callable[..., list[Any]]:
    from alstrial.services import reads, records

    listers: dict[str, Callable[..., list[Any]]] = {
        "participants": reads.list_participants,
        "adverse_events": records.list_adverse_events,
        "intercurrent_events": records.list_intercurrent_events,
        "lab_samples": records.list_lab_samples,
        "doses": records.list_doses,
        "lots": records.list_product_lots,
    }
    return listers[table]


def list_records(
    table: Annotated[str, typer.Argument(help=f"One of: {', '.join(RECORD_TABLES)}.")],
    db: DbOption,
    user: UserOption,
    participant: ParticipantFilter = None,
    offset: Annotated[int, typer.Option(help="Skip this many rows.")] = 0,
    limit: Annotated[int | None, typer.Option(help="At most this many rows.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List clinical records with their ids and versions (what `query open` and corrections name)."""
    from alstrial.commands.capture import cli_errors

    with cli_errors():
        if table not in RECORD_TABLES:
            raise ValidationFailed([Problem("table", table, f"expected one of {', '.join(RECORD_TABLES)}")])
    lister = _lister(table)
    by = "code" if table == "participants" else "participant"
    rows = run_as(db, user, lambda c, a: lister(c, a, **{by: participant}, offset=offset, limit=limit))
    _emit(rows, as_json)


@query_app.command("open")
def query_open(
    db: DbOption,
    user: UserOption,
    entity: Annotated[str, typer.Option(help="Record type, e.g. adverse_event, alsfrs_assessment, lab_result.")],
    record_id: Annotated[int, typer.Option("--id", help="The record's id (`alstrial records ...`).")],
    field: Annotated[str, typer.Option(help="The field queried.")],
    text: Annotated[str, typer.Option(help="The question for the site.")],
    as_json: JsonOption = False,
) -> None:
    """Raise a query on one field of a record (data managers and monitors)."""
    from alstrial.services.corrections import open_query

    view = run_as(db, user, lambda c, a: open_query(c, a, entity=entity, entity_id=record_id, field=field, text=text))
    if as_json:
        _emit([view], True)
    else:
        typer.echo(f"query {view.id} opened on {entity} {record_id}.{field}")


@query_app.command("answer")
def query_answer(
    query_id: Annotated[int, typer.Argument(help="Query id.")],
    db: DbOption,
    user: UserOption,
    text: Annotated[str, typer.Option(help="The site's answer.")],
) -> None:
    """Answer an open query (site staff)."""
    from alstrial.services.corrections import answer_query

    view = run_as(db, user, lambda c, a: answer_query(c, a, query_id, answer=text))
    typer.echo(f"query {view.id} answered")


@query_app.command("close")
def query_close(
    query_id: Annotated[int, typer.Argument(help="Query id.")],
    db: DbOption,
    user: UserOption,
    note: Annotated[str, typer.Option(help="Why the query is closed.")] = "",
) -> None:
    """Close a query (data managers and monitors)."""
    from alstrial.services.corrections import close_query

    view = run_as(db, user, lambda c, a: close_query(c, a, query_id, note=note))
    typer.echo(f"query {view.id} closed")


@query_app.command("list")
def query_list(
    db: DbOption,
    user: UserOption,
    status: Annotated[str | None, typer.Option(help="open, answered or closed.")] = None,
    participant: ParticipantFilter = None,
    as_json: JsonOption = False,
) -> None:
    """Queries the user may see, oldest first."""
    from alstrial.services.corrections import list_queries

    _emit(run_as(db, user, lambda c, a: list_queries(c, a, status=status, participant=participant)), as_json)


def mount(app: typer.Typer, randomize_app: typer.Typer) -> None:
    """Attach these commands to the top-level app and the `randomize` group."""
    randomize_app.command("participant")(randomize_participants)
    randomize_app.command("arm")(participant_arms)
    app.command(name="records")(list_records)
    app.add_typer(query_app, name="query")

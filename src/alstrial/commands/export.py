"""`alstrial export ...`: the trial's data in the standards regulators and other tools read.

Mount in ``cli.py``::

    app.add_typer(export.app, name="export")

Every export signs in as ``--user`` (password from ``ALSTRIAL_PASSWORD`` or a prompt) and shows
only what that user's role may see; nothing is written unless the whole export succeeds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from alstrial.commands.capture import DbOption, UserOption, run_as

if TYPE_CHECKING:
    from alstrial.services.actor import Actor
    from alstrial.services.context import CaptureDB

app = typer.Typer(no_args_is_help=True, help="Export trial data: SDTM, ADaM, REDCap data dictionary, CDISC ODM.")

OutOption = Annotated[Path, typer.Option("--out", help="Folder to write into (created if needed).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def _print(result: object, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, default=str))  # type: ignore[attr-defined]
    else:
        typer.echo(str(result))


@app.command("sdtm")
def sdtm(db: DbOption, out: OutOption, user: UserOption, as_json: JsonOption = False) -> None:
    """SDTMIG 3.4 datasets (XPT v5) with define.xml 2.1; blinded roles get no arm-revealing variables."""
    from alstrial.interop.sdtm import export_sdtm

    def act(capture: CaptureDB, actor: Actor) -> object:
        return export_sdtm(capture, actor, out)

    _print(run_as(db, user, act), as_json)


@app.command("adam")
def adam(db: DbOption, out: OutOption, user: UserOption, as_json: JsonOption = False) -> None:
    """ADaM datasets (ADSL, ADQS, ADLB, ADTTE, ADAE; XPT v5) with define.xml 2.1, after unblinding."""
    from alstrial.interop.adam import export_adam

    def act(capture: CaptureDB, actor: Actor) -> object:
        return export_adam(capture, actor, out)

    _print(run_as(db, user, act), as_json)


@app.command("redcap-dictionary")
def redcap_dictionary(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    protocol: Annotated[Path | None, typer.Option(help="Protocol TOML (default: the shipped seed trial).")] = None,
) -> None:
    """The protocol's forms as a REDCap data dictionary (the 18 columns REDCap imports)."""
    from alstrial.commands.capture import cli_errors
    from alstrial.interop.forms import protocol_forms
    from alstrial.interop.redcap_dictionary import write_dictionary
    from alstrial.protocol import load_protocol

    with cli_errors():
        forms = protocol_forms(load_protocol(protocol))
        write_dictionary(forms, out)
    typer.echo(f"wrote {sum(len(f.fields) for f in forms)} field(s) of {len(forms)} form(s) to {out}")


@app.command("odm")
def odm(db: DbOption, out: OutOption, user: UserOption, as_json: JsonOption = False) -> None:
    """CDISC ODM 1.3.2: study metadata, users and sites, clinical data; the audit trail for auditing roles."""
    from alstrial.interop.odm import export_odm

    def act(capture: CaptureDB, actor: Actor) -> object:
        return export_odm(capture, actor, out)

    _print(run_as(db, user, act), as_json)

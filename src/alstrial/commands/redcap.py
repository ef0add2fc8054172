"""`alstrial redcap ...` and `alstrial odm ...`: bring other systems' study definitions and records into alstrial.

Mount in ``cli.py``::

    app.add_typer(redcap.app, name="redcap")
    app.add_typer(redcap.odm_app, name="odm")

The dictionary becomes a draft protocol TOML (every unsupported feature listed); records go through
the same all-or-nothing import as ``alstrial import``, every rejected value reported.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from alstrial.commands.capture import DbOption, UserOption, cli_errors, run_as

if TYPE_CHECKING:
    from alstrial.services.actor import Actor
    from alstrial.services.context import CaptureDB

app = typer.Typer(no_args_is_help=True, help="Import a REDCap data dictionary or REDCap records.")
odm_app = typer.Typer(no_args_is_help=True, help="Import CDISC ODM 1.3 study metadata.")


@app.command("import-dictionary")
def import_dictionary(
    dictionary: Annotated[Path, typer.Argument(help="REDCap data dictionary CSV (UTF-8, BOM accepted).")],
    out: Annotated[Path, typer.Option("--out", help="Draft protocol TOML to write.")],
    base: Annotated[
        Path | None, typer.Option(help="Protocol giving arms, visits, dosing (default: seed trial).")
    ] = None,
    screening_form: Annotated[str, typer.Option(help="Form whose fields become screening fields.")] = "screening",
) -> None:
    """Turn a data dictionary into a draft protocol; list every field type or feature not carried over."""
    from alstrial.interop.redcap_dictionary import read_dictionary
    from alstrial.interop.redcap_protocol import draft_protocol, protocol_toml
    from alstrial.protocol import load_protocol

    with cli_errors():
        draft = draft_protocol(read_dictionary(dictionary), load_protocol(base), screening_form=screening_form)
        out.write_text(protocol_toml(draft.protocol), encoding="utf-8")
    typer.echo(str(draft))
    typer.echo(f"wrote {out}")


@app.command("import-records")
def import_records(
    records: Annotated[Path, typer.Argument(help="REDCap records export, flat or EAV CSV.")],
    db: DbOption,
    user: UserOption,
    mapping: Annotated[
        Path | None, typer.Option(help="Mapping TOML (default: the ALSFRS-R form of alstrial's own dictionary).")
    ] = None,
    report: Annotated[Path | None, typer.Option(help="Write rejected values here as CSV.")] = None,
) -> None:
    """Import REDCap records through the services: all or nothing; every rejected value is listed (exit 2)."""
    from alstrial.errors import Problem, ValidationFailed
    from alstrial.interop.redcap_records import (
        RecordsImport,
        RecordsRejected,
        alsfrs_mapping,
        import_records,
        read_mapping,
        rejection_report,
    )

    with cli_errors():
        try:
            data = records.read_bytes()
        except OSError as exc:
            raise ValidationFailed([Problem("records file", str(records), f"cannot be read: {exc}")]) from None
        chosen = read_mapping(mapping) if mapping else None

    def act(capture: CaptureDB, actor: Actor) -> RecordsImport:
        try:
            return import_records(capture, actor, data, chosen or alsfrs_mapping(capture.protocol()), what=records.name)
        except RecordsRejected as exc:
            if report is not None:
                report.write_text(rejection_report(exc), encoding="utf-8")
            raise

    result = run_as(db, user, act)
    typer.echo(str(result))


@odm_app.command("import-metadata")
def import_metadata(
    odm_file: Annotated[Path, typer.Argument(metavar="ODM", help="ODM 1.3 XML file with study metadata.")],
    out: Annotated[Path, typer.Option("--out", help="Draft protocol TOML to write.")],
    base: Annotated[
        Path | None, typer.Option(help="Protocol giving arms, visits, dosing (default: seed trial).")
    ] = None,
    screening_form: Annotated[str, typer.Option(help="Form whose fields become screening fields.")] = "screening",
) -> None:
    """Turn ODM study metadata (forms, items, code lists) into a draft protocol; list what is not carried over."""
    from alstrial.errors import Problem, ValidationFailed
    from alstrial.interop.odm import import_study_metadata
    from alstrial.interop.redcap_protocol import draft_protocol, protocol_toml
    from alstrial.protocol import load_protocol

    with cli_errors():
        try:
            data = odm_file.read_bytes()
        except OSError as exc:
            raise ValidationFailed([Problem("ODM file", str(odm_file), f"cannot be read: {exc}")]) from None
        study = import_study_metadata(data, what=odm_file.name)
        draft = draft_protocol(study.forms, load_protocol(base), screening_form=screening_form)
        out.write_text(protocol_toml(draft.protocol), encoding="utf-8")
    typer.echo(str(study))
    typer.echo(str(draft))
    typer.echo(f"wrote {out}")

"""`alstrial analyze` and `alstrial report`: the analysis plan and the reports of any capture database.

Mount in ``cli.py``::

    app.command(name="analyze")(analyze.analyze)
    app.command(name="report")(analyze.report)
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from alstrial.commands.capture import DbOption, UserOption, run_as

if TYPE_CHECKING:
    from alstrial.services.actor import Actor
    from alstrial.services.context import CaptureDB


def analyze(
    db: DbOption,
    user: UserOption,
    out: Annotated[Path, typer.Option("--out", help="Folder for results.json and tables/*.csv.")],
    interim: Annotated[
        bool, typer.Option("--interim", help="Analyse an unlocked or blinded database (an unblinded role only).")
    ] = False,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the multiple imputations (same seed, same results).")
    ] = 0,
) -> None:
    """Run the protocol's analysis plan: every estimand, its sensitivity analyses and the subgroups.

    A final analysis needs a locked, unblinded database; --interim analyses an unlocked or still
    blinded one (roles that may see arms only). Writes DIR/results.json (keyed by estimand, with the
    alstrial and protocol versions, the audit head hash and the analysis time) and DIR/tables/*.csv.
    """
    from alstrial.workflows.analyze import analyse_database, write_analysis

    console = Console(stderr=True)

    def act(capture: CaptureDB, actor: Actor) -> tuple[str, list[Path]]:
        with console.status("running the analysis plan (MMRM, multiple imputation, subgroups)..."):
            run = analyse_database(capture, actor, interim=interim, seed=seed, analysis_time=datetime.now(UTC))
            return str(run), write_analysis(run.results, out)

    summary, written = run_as(db, user, act)
    typer.echo(summary)
    typer.echo(f"wrote {written[0]} and {len(written) - 1} table(s) in {written[0].parent / 'tables'}")


def report(
    db: DbOption,
    user: UserOption,
    out: Annotated[Path, typer.Option("--out", help="Report file (.html; .pdf writes both).")],
    audience: Annotated[
        str, typer.Option("--audience", help="sponsor, dsmb-open (arms pooled) or dsmb-closed (arms coded A/B).")
    ] = "sponsor",
    pdf: Annotated[bool, typer.Option("--pdf", help="Also write a paginated PDF next to the HTML.")] = False,
    key_out: Annotated[
        Path | None, typer.Option("--key-out", help="dsmb-closed: where to write the A/B key (default FILE.key.json).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the multiple imputations.")] = 0,
) -> None:
    """Write the study report for an audience; the DSMB reports work on an unlocked database.

    sponsor: the full report, after lock and unblinding. dsmb-closed: arms as A and B, the key in a
    separate file for the unblinded statistician (dsmb_member, unblinded_statistician only).
    dsmb-open: enrolment, baseline, pooled safety and data quality, no result by arm.
    """
    from alstrial.workflows.report import report_database

    console = Console(stderr=True)

    def act(capture: CaptureDB, actor: Actor) -> list[Path]:
        with console.status(f"building the {audience} report..."):
            run = report_database(capture, actor, audience=audience, seed=seed, database_label=_label(db))
            return run.write(out, pdf=pdf, key_out=key_out)

    for path in run_as(db, user, act):
        typer.echo(f"wrote {path}")


def _label(url: str) -> str:
    """The database as the report names it: a file name, or the URL without credentials."""
    if "://" not in url:
        return Path(url).name
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{rest.rsplit('@', 1)[-1]}"

"""`alstrial alsfrs` commands: score ALSFRS-R visit tables and show the items."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from alstrial.instruments.alsfrs_csv import (
    AlsfrsCsvError,
    example_csv_text,
    read_alsfrs_csv,
    write_csv_atomic,
    write_scored_csv,
)
from alstrial.instruments.alsfrs_frame import FrameColumnsError, score_frame
from alstrial.instruments.alsfrs_r import ITEMS

app = typer.Typer(no_args_is_help=True, help="Score ALSFRS-R questionnaires (totals, subscores, King's, MiToS, ΔFS).")


def _fail(message: str) -> typer.Exit:
    sys.stderr.write(f"error: {message}\n")
    return typer.Exit(code=2)


@app.command("score")
def score_command(
    input_csv: Path = typer.Argument(
        ...,
        metavar="INPUT.csv",
        help="Visits, one per row: columns q1 … q12 with q5a and/or q5b (blank = not answered), "
        "optional months_since_onset; other columns are passed through unchanged.",
        show_default=False,
    ),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Write the scored CSV here (default: print it to stdout)."
    ),
) -> None:
    """Score a CSV of visits: totals, subscores, King's and MiToS stages, ΔFS.

    Adds total, bulbar, fine_motor, gross_motor, respiratory, kings_stage, mitos_stage, and
    delta_fs (Kimura's ΔFS, points/month, positive = decline) when months_since_onset is given.

    Any invalid row stops the run with exit code 2 and a list of every problem as
    "row N, column C: value V — reason" (row 1 = first line below the header); nothing is written.
    """
    try:
        df = read_alsfrs_csv(input_csv)
        result = score_frame(df)
    except (AlsfrsCsvError, FrameColumnsError) as e:
        raise _fail(f"{input_csv}: {e}" if isinstance(e, FrameColumnsError) else str(e)) from None
    if result.problems:
        head = (
            f"error: {input_csv}: {len(result.problems)} problem(s) in {result.n_invalid} of "
            f"{result.n_rows} row(s); nothing was written\n"
        )
        sys.stderr.write(head + "".join(f"{p}\n" for p in result.problems))
        raise typer.Exit(code=2)
    if output is None:
        try:
            write_scored_csv(result.frame, sys.stdout)
            sys.stdout.flush()
        except BrokenPipeError:  # e.g. `alstrial alsfrs score in.csv | head`: the reader left
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    try:
        write_csv_atomic(result.frame, output)
    except (AlsfrsCsvError, OSError) as e:
        raise _fail(f"cannot write {output}: {e}") from None
    sys.stderr.write(f"scored {result.n_rows} visit(s) from {input_csv} → {output}\n")


@app.command("items")
def items_command() -> None:
    """Show the 12 ALSFRS-R items (with 5a/5b), their domains and the anchor of each score."""
    table = Table(title="ALSFRS-R items (4 = normal, 0 = worst)", show_lines=True)
    table.add_column("Item", no_wrap=True)
    table.add_column("Name")
    table.add_column("Domain", no_wrap=True)
    for s in (4, 3, 2, 1, 0):
        table.add_column(str(s))
    for item in ITEMS:
        table.add_row(item.code, item.name, item.domain, *(item.anchors[s] for s in (4, 3, 2, 1, 0)))
    Console().print(table)
    Console().print(
        "Score exactly one of 5a (no gastrostomy) / 5b (gastrostomy). Domains: bulbar 1–3, "
        "fine motor 4–6, gross motor 7–9, respiratory 10–12. Wording of items 9 and 11 unverified."
    )


@app.command("example")
def example_command(
    output: Path | None = typer.Option(None, "-o", "--output", help="Write the example here (default: stdout)."),
) -> None:
    """Print (or save) a small example input table to try `alstrial alsfrs score` on."""
    text = example_csv_text()
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as e:
        raise _fail(f"cannot write {output}: {e}") from None

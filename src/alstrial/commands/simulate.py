"""`alstrial simulate`: the natural-history model from the command line."""

import typer


def simulate(
    calibration: bool = typer.Option(False, "--calibration", help="Print calibration targets beside simulated values."),
) -> None:
    """Simulate virtual ALS participants."""
    typer.echo("not implemented yet", err=True)
    raise typer.Exit(2)

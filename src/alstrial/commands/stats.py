"""`alstrial stats` commands: statistical engines on CSV files, with JSON output for scripting."""

from __future__ import annotations

import typer

from alstrial.commands import stats_endpoints, stats_mi, stats_mmrm

app = typer.Typer(no_args_is_help=True, help="Fit the trial's statistical models on a CSV file.")
stats_mmrm.register(app)
stats_endpoints.register(app)
stats_mi.register(app)

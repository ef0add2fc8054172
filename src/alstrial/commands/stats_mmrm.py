"""`alstrial stats mmrm`: fit a mixed model for repeated measures on a long CSV file.

A plain CSV file (:mod:`alstrial.stats.table_csv`) is read and fitted without pandas, through the
same engine as ``fit_mmrm`` (:mod:`alstrial.stats.mmrm.prepare_core`, :mod:`~alstrial.stats.mmrm.summary`):
pandas' import is a third of the command's run time on small data. Any other file, and any data
the engine refuses, take the DataFrame path, whose messages the command has always printed.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from alstrial.errors import AlstrialError

if TYPE_CHECKING:
    from alstrial.stats.mmrm.summary import Report

# Spelled out so that `alstrial --help` need not import the engine; a test checks it against
# alstrial.stats.mmrm.COV_TYPES.
COV_CHOICES = ("us", "cs", "csh", "ar1", "ar1h", "toep", "toeph", "adh")
_DF_CHOICES = ("satterthwaite", "kenward-roger", "kenward-roger-linear", "residual", "between-within")


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def _parse_refs(refs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in refs:
        if "=" not in item:
            _fail(f"--ref expects COLUMN=LEVEL (not {item!r})")
        col, level = item.split("=", 1)
        out[col.strip()] = level.strip()
    return out


def _fit_plain_csv(data: Path, options: dict[str, Any]) -> tuple[Report, list[warnings.WarningMessage]] | None:
    """Read and fit without pandas; None when the file is not plain or the engine refuses the data."""
    from alstrial import __version__
    from alstrial.stats.mmrm.errors import MMRMConvergenceWarning
    from alstrial.stats.mmrm.prepare_core import prepare_table
    from alstrial.stats.mmrm.spec import MMRMSpec
    from alstrial.stats.mmrm.summary import fit_prepared, summary_report
    from alstrial.stats.table_csv import read_csv_table

    table = read_csv_table(data)
    if table is None:
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MMRMConvergenceWarning)
        try:
            spec = MMRMSpec(**options)
            report = summary_report(fit_prepared(spec, prepare_table(spec, table)), __version__)
        except AlstrialError:
            return None  # the DataFrame path reports it, exactly as it always has
    return report, list(caught)


def _fit_frame(data: Path, options: dict[str, Any]) -> tuple[Report, list[warnings.WarningMessage]]:
    from alstrial.stats.mmrm import MMRMConvergenceWarning, fit_mmrm
    from alstrial.stats.table_frame import read_csv_frame

    try:
        frame = read_csv_frame(data)
    except (OSError, ValueError) as exc:
        _fail(f"cannot read CSV {str(data)!r}: {exc}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MMRMConvergenceWarning)
        try:
            result = fit_mmrm(frame, **options)
        except AlstrialError as exc:
            _fail(str(exc))
    return result.report(), list(caught)


def _payload(report: Report) -> dict[str, Any]:
    import numpy as np

    full = report.to_dict()
    return {
        "coefficients": [
            {k: c[k] for k in ("term", "estimate", "std_error", "df", "statistic", "p_value")}
            for c in full["coefficients"]
        ],
        "covariance": np.vstack([m for _, _, m in report.covariances]).tolist(),
        "visits": list(report.visits),
        "minus2_log_likelihood": report.minus2ll,
        "aic": report.aic,
        "bic": report.bic,
        "converged": report.converged,
        "n_subjects": report.n_subjects,
        "n_observations": report.n_observations,
        "cov_parameters": full["cov_parameters"],
        "spec": full["spec"],
        "alstrial_version": full["alstrial_version"],
    }


def mmrm(
    data: Path = typer.Option(..., "--data", help="Long CSV: one row per subject and visit."),
    response: str = typer.Option(..., "--response", help="Response column."),
    subject: str = typer.Option(..., "--subject", help="Subject identifier column."),
    visit: str = typer.Option(..., "--visit", help="Visit column (levels sorted naturally)."),
    fixed: str = typer.Option("1", "--fixed", help="R-style right-hand side, e.g. 'RACE + SEX + ARMCD*AVISIT'."),
    cov: str = typer.Option("us", "--cov", help=f"Covariance structure: {', '.join(COV_CHOICES)}."),
    group: str | None = typer.Option(None, "--group", help="Fit a separate covariance per level of this column."),
    method: str = typer.Option("reml", "--method", help="reml or ml."),
    df: str = typer.Option("satterthwaite", "--df", help=f"Degrees of freedom: {', '.join(_DF_CHOICES)}."),
    ref: list[str] = typer.Option([], "--ref", help="Reference level, COLUMN=LEVEL (repeatable)."),
    weights: str | None = typer.Option(None, "--weights", help="Column of SAS-style WEIGHT values."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Fit an MMRM (like SAS PROC MIXED with REPEATED / R mmrm) and print the coefficient table."""
    from alstrial.stats.mmrm.errors import MMRMConvergenceWarning

    if not data.is_file():
        _fail(f"data file {str(data)!r} does not exist")
    options: dict[str, Any] = {
        "response": response,
        "subject": subject,
        "visit": visit,
        "fixed": fixed,
        "cov": cov,
        "group": group,
        "method": method,
        "df": df,
        "ref": _parse_refs(ref),
        "weights": weights,
    }
    fitted = _fit_plain_csv(data, options) or _fit_frame(data, options)
    report, caught = fitted
    for w in caught:
        if issubclass(w.category, MMRMConvergenceWarning):
            typer.echo(f"warning: {w.message}", err=True)
    typer.echo(json.dumps(_payload(report), indent=2) if as_json else report.text())


def register(app: typer.Typer) -> None:
    """Add the `mmrm` command to the `stats` group."""
    app.command(name="mmrm")(mmrm)

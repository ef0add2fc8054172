"""`alstrial stats mmrm`: fit a mixed model for repeated measures on a long CSV file."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import typer

from alstrial.errors import AlstrialError

# Spelled out so that `alstrial --help` need not import the engine; a test checks it against
# alstrial.stats.mmrm.COV_TYPES.
COV_CHOICES = ("us", "cs", "csh", "ar1", "ar1h", "toep", "toeph", "adh")
_DF_CHOICES = ("satterthwaite", "kenward-roger", "kenward-roger-linear", "residual", "between-within")


def _fail(message: str) -> None:
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
    import pandas as pd

    from alstrial.stats.mmrm import MMRMConvergenceWarning, fit_mmrm

    if not data.is_file():
        _fail(f"data file {str(data)!r} does not exist")
    try:
        frame = pd.read_csv(data)
    except (OSError, ValueError) as exc:
        _fail(f"cannot read CSV {str(data)!r}: {exc}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MMRMConvergenceWarning)
        try:
            result = fit_mmrm(
                frame,
                response=response,
                subject=subject,
                visit=visit,
                fixed=fixed,
                cov=cov,  # type: ignore[arg-type]
                group=group,
                method=method,  # type: ignore[arg-type]
                df=df,  # type: ignore[arg-type]
                ref=_parse_refs(ref),
                weights=weights,
            )
        except AlstrialError as exc:
            _fail(str(exc))
    for w in caught:
        if issubclass(w.category, MMRMConvergenceWarning):
            typer.echo(f"warning: {w.message}", err=True)
    if as_json:
        full = result.to_dict()
        payload: dict[str, Any] = {
            "coefficients": [
                {k: c[k] for k in ("term", "estimate", "std_error", "df", "statistic", "p_value")}
                for c in full["coefficients"]
            ],
            "covariance": result.covariance.to_numpy().tolist(),
            "visits": list(result.visits),
            "minus2_log_likelihood": result.minus2_log_likelihood,
            "aic": result.aic,
            "bic": result.bic,
            "converged": result.converged,
            "n_subjects": result.n_subjects,
            "n_observations": result.n_observations,
            "cov_parameters": full["cov_parameters"],
            "spec": full["spec"],
            "alstrial_version": full["alstrial_version"],
        }
        typer.echo(json.dumps(payload, indent=2))
    else:
        typer.echo(str(result))


def register(app: typer.Typer) -> None:
    """Add the `mmrm` command to the `stats` group."""
    app.command(name="mmrm")(mmrm)

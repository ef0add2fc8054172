"""`alstrial stats cafs|survival|responder|slope-model|biomarker`: the ALS endpoints on a CSV file.

Thin wrappers: read the CSV, call ``alstrial.stats``, print the result (text, or JSON with
``--json``). Bad data exits with code 2 and a one-line message naming the column and value.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from alstrial.errors import AlstrialError

if TYPE_CHECKING:
    import pandas as pd

# The engines (statsmodels, lifelines) and pandas are imported inside each command so that
# `alstrial --help` and the other commands start fast.

T = TypeVar("T")

DATA = typer.Option(..., "--data", help="CSV file.", exists=False)
JSON = typer.Option(False, "--json", help="Print JSON instead of text.")


def _data_error(message: str) -> AlstrialError:
    """An EndpointDataError (its module imports pandas, so it is imported when an error is raised)."""
    from alstrial.stats.endpoint_data import EndpointDataError

    return EndpointDataError(message)


def _read(path: Path) -> pd.DataFrame:
    from alstrial.stats.table_frame import read_csv_frame

    if not path.is_file():
        raise _data_error(f"data file {str(path)!r} does not exist")

    try:
        return read_csv_frame(path)
    except (ValueError, OSError) as exc:  # pandas' parser errors and UnicodeDecodeError are ValueErrors
        raise _data_error(f"cannot read CSV {str(path)!r}: {exc}") from exc


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def _run(compute: Callable[[], T], as_json: bool, to_dict: Callable[[T], Any]) -> None:
    try:
        result = compute()
    except AlstrialError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(to_dict(result), indent=2, allow_nan=False, default=str))
    else:
        typer.echo(str(result))


def cafs(
    data: Path = DATA,
    subject: str | None = typer.Option(None, "--subject", help="Participant id column (one row each)."),
    arm: str = typer.Option(..., "--arm", help="Arm column (2 levels; the second in sort order is tested)."),
    time: str = typer.Option(..., "--time", help="Follow-up time to event or censoring."),
    event: str = typer.Option(..., "--event", help="Event indicator 0/1; comma list = composite (any)."),
    change: str = typer.Option(
        ..., "--change", help="ALSFRS-R change column; comma list of per-visit changes = compare at last common visit."
    ),
    reference: str | None = typer.Option(None, "--reference", help="Reference arm level (default: first sorted)."),
    permutations: int = typer.Option(0, "--permutations", min=0, help="Permutation p-value draws (0 = none)."),
    seed: int | None = typer.Option(None, "--seed", help="Seed for the permutations."),
    as_json: bool = JSON,
) -> None:
    """CAFS ranks and the Finkelstein–Schoenfeld test.

    JSON keys: statistic (sum of pairwise scores in the second arm level), variance, z, p_value,
    mean_rank (per arm), n (per arm), arms, permutations, permutation_p_value, seed.
    """
    events, changes = _split(event), _split(change)

    def compute() -> Any:
        found = _cafs_plain_csv(data, subject, arm, time, events, changes, reference, permutations, seed)
        if found is not None:
            return found
        from alstrial.stats.cafs import cafs_test

        return cafs_test(
            _read(data),
            arm=arm,
            time=time,
            event=events,
            change=changes,
            subject=subject,
            reference=reference,
            permutations=permutations,
            seed=seed,
        )

    _run(compute, as_json, lambda r: r.to_dict())


def _cafs_plain_csv(
    data: Path,
    subject: str | None,
    arm: str,
    time: str,
    events: list[str],
    changes: list[str],
    reference: str | None,
    permutations: int,
    seed: int | None,
) -> Any:
    """The CAFS test of a plain CSV file with clean columns, without pandas (its import is most of
    the command's time on 1,000 participants); None for any other file or data, which then take
    ``cafs_test`` on a DataFrame and get its messages. Same engine (:mod:`alstrial.stats.cafs_core`)."""
    import numpy as np

    from alstrial.stats.arms import reference_and_treatment
    from alstrial.stats.cafs_core import CAFSTest, fs_test, pairwise_scores
    from alstrial.stats.errors import EndpointDataError
    from alstrial.stats.table_csv import read_csv_table

    table = read_csv_table(data) if data.is_file() else None
    names = [arm, time, *events, *changes, *([subject] if subject else [])]
    if table is None or not changes or any(n not in table.columns for n in names):
        return None
    cols = table.columns

    def numbers(name: str, allow_missing: bool = False) -> np.ndarray | None:
        col = cols[name]
        clean = col.numeric and (allow_missing or not col.missing.any()) and not np.isinf(col.values).any()
        return col.values.astype(float) if clean else None

    t = numbers(time)
    event_values = [numbers(e) for e in events]
    change_values = [numbers(c, allow_missing=True) for c in changes]
    arm_col = cols[arm]
    if t is None or (t < 0).any() or arm_col.missing.any() or arm_col.kind == "bool":
        return None
    ev = np.zeros(table.n_rows, dtype=bool)
    for e in event_values:
        if e is None or not np.isin(e, (0.0, 1.0)).all():
            return None
        ev |= e == 1.0
    changes_found = [c for c in change_values if c is not None]
    if len(changes_found) != len(change_values):
        return None
    ch = np.column_stack(changes_found)
    if (~ev).any() and np.isnan(ch[~ev]).all():
        return None
    if subject is not None:
        ids = cols[subject]
        if ids.missing.any() or len(set(ids.values.tolist())) != table.n_rows:
            return None
    arm_values = [arm_col.item(i) for i in range(table.n_rows)]
    try:
        arms = reference_and_treatment(list(dict.fromkeys(arm_values)), arm, what="CAFS", reference=reference)
    except EndpointDataError:
        return None
    u = pairwise_scores(t, ev, ch[:, 0] if ch.shape[1] == 1 else ch).sum(axis=1, dtype=np.int64)
    is_trt = np.array([v == arms[1] for v in arm_values])
    fields, _ = fs_test(u, is_trt, arms, permutations, seed)
    return CAFSTest(**fields)


def survival(
    data: Path = DATA,
    time: str = typer.Option(..., "--time", help="Time to event or censoring."),
    event: str = typer.Option(..., "--event", help="Event column: 0/1, or R's 1/2 (2 = event)."),
    group: str | None = typer.Option(None, "--group", help="Group column for KM curves, log-rank and Cox."),
    covariates: str | None = typer.Option(None, "--covariates", help="Comma-separated Cox covariates."),
    ties: str = typer.Option("efron", "--ties", help="Cox ties: efron or breslow."),
    event_coding: str = typer.Option("auto", "--event-coding", help="auto, 01 or 12."),
    strata: str | None = typer.Option(
        None, "--strata", help="Stratify the log-rank test and the Cox model by this column (R: strata())."
    ),
    as_json: bool = JSON,
) -> None:
    """Kaplan–Meier (Greenwood SE, log CI), log-rank and Cox, like R's survival package.

    JSON keys: logrank (chisq, df, p_value, table), cox (list of term, estimate, std_error,
    hazard_ratio, ci_lower, ci_upper, statistic, p_value), cox_model (ties, loglik...), km (per
    group: median, median_ci_lower/upper, table of time, at_risk, events, censored, survival,
    std_error, ci_lower, ci_upper), n, n_dropped.
    """
    from alstrial.stats.survival import survival_analysis

    _run(
        lambda: survival_analysis(
            _read(data),
            time=time,
            event=event,
            group=group,
            covariates=_split(covariates),
            ties=ties,  # type: ignore[arg-type]  # validated inside
            event_coding=event_coding,  # type: ignore[arg-type]
            strata=strata,
        ),
        as_json,
        lambda r: r.to_dict(),
    )


def _responder_frame(
    df: pd.DataFrame, subject: str | None, day: str | None, score: str | None, arm: str, covs: list[str], **kw: Any
) -> pd.DataFrame:
    """Long data (--subject/--day/--score) → one row per participant with derived slopes."""
    from alstrial.stats.responder_slopes import derive_pre_post_slopes

    if not (day and score and subject):
        raise _data_error("responder: long data needs --subject, --day and --score together")
    slopes = derive_pre_post_slopes(df, subject=subject, day=day, score=score, **kw)
    per_subject = df[[subject, arm, *covs]].drop_duplicates()
    if per_subject[subject].duplicated().any():
        bad = per_subject.loc[per_subject[subject].duplicated(), subject].iloc[0]
        raise _data_error(f"responder: arm/covariates vary within subject {bad!r}; they must be constant")
    return per_subject.merge(slopes, on=subject, how="left")


def responder(
    data: Path = DATA,
    arm: str = typer.Option(..., "--arm", help="Arm column (2 levels)."),
    slope_change: str | None = typer.Option(None, "--slope-change", help="Column: post − pre slope, points/month."),
    pre_slope: str | None = typer.Option(None, "--pre-slope", help="Pre-treatment slope column."),
    post_slope: str | None = typer.Option(None, "--post-slope", help="Post-treatment slope column."),
    subject: str | None = typer.Option(None, "--subject", help="Long data: participant id column."),
    day: str | None = typer.Option(None, "--day", help="Long data: days from first treatment."),
    score: str | None = typer.Option(None, "--score", help="Long data: ALSFRS-R total column."),
    endpoint_day: float | None = typer.Option(None, "--endpoint-day", help="Long data: last day used (196 = wk 28)."),
    slope_method: str = typer.Option("two_point", "--slope-method", help="Long data: two_point or least_squares."),
    covariates: str | None = typer.Option(None, "--covariates", help="Comma-separated adjustment covariates."),
    adjust_pre_slope: bool = typer.Option(
        True, "--adjust-pre-slope/--no-adjust-pre-slope", help="Add the pre-treatment slope as a covariate."
    ),
    threshold: float = typer.Option(1.25, "--threshold", help="Responder if post − pre slope ≥ this."),
    reference: str | None = typer.Option(None, "--reference", help="Reference arm (default: first sorted)."),
    missing: str = typer.Option("exclude", "--missing", help="Missing slope: exclude or nonresponder."),
    as_json: bool = JSON,
) -> None:
    """Responder endpoint: logistic regression of (post − pre slope ≥ threshold) on arm + covariates.

    Wide data: one row per participant with --slope-change or --pre-slope/--post-slope. Long
    data: --subject --day --score derive the slopes (points/month, 30.4375 days).

    JSON keys: arms, threshold, covariates, missing_rule, n, n_excluded, odds_ratio, ci_lower,
    ci_upper, p_value, log_odds_ratio, std_error, conf_level, proportions (arm, n, responders,
    proportion), terms (term, estimate, std_error, odds_ratio, ci_lower, ci_upper, statistic,
    p_value), notes.
    """

    from alstrial.stats.responder import responder_analysis

    def compute() -> Any:
        df = _read(data)
        covs = _split(covariates)
        pre, post, change = pre_slope, post_slope, slope_change
        if day or score:
            df = _responder_frame(
                df,
                subject,
                day,
                score,
                arm,
                covs,
                endpoint_day=endpoint_day,
                method=slope_method,
            )
            pre, post, change = "pre_slope", "post_slope", None
        if adjust_pre_slope:
            if pre is None:
                raise _data_error("responder: --adjust-pre-slope needs --pre-slope (or long data)")
            covs = [*covs, pre] if pre not in covs else covs
        return responder_analysis(
            df,
            arm=arm,
            slope_change=change,
            pre_slope=pre,
            post_slope=post,
            covariates=covs,
            threshold=threshold,
            reference=reference,
            missing=missing,  # type: ignore[arg-type]
        )

    _run(compute, as_json, lambda r: r.to_dict())


def slope_model(
    data: Path = DATA,
    subject: str = typer.Option(..., "--subject", help="Participant id column."),
    time: str = typer.Option(..., "--time", help="Time from baseline."),
    score: str = typer.Option(..., "--score", help="ALSFRS-R total column."),
    arm: str = typer.Option(..., "--arm", help="Arm column (2 levels)."),
    time_unit: str = typer.Option("months", "--time-unit", help="months or days (30.4375 days/month)."),
    reference: str | None = typer.Option(None, "--reference", help="Reference arm (default: first sorted)."),
    as_json: bool = JSON,
) -> None:
    """Random intercept + slope mixed model (REML): difference in monthly ALSFRS-R slope.

    JSON keys: slope_difference, std_error, ci_lower, ci_upper, p_value, slopes (per arm), terms,
    random_effects_cov, residual_variance, converged, notes, n_subjects, n_obs.
    """
    from alstrial.stats.slope_model import random_slope_model

    _run(
        lambda: random_slope_model(
            _read(data),
            subject=subject,
            time=time,
            score=score,
            arm=arm,
            time_unit=time_unit,  # type: ignore[arg-type]
            reference=reference,
        ),
        as_json,
        lambda r: r.to_dict(),
    )


def biomarker(
    data: Path = DATA,
    arm: str = typer.Option(..., "--arm", help="Arm column (2 levels)."),
    baseline: str = typer.Option(..., "--baseline", help="Baseline concentration column."),
    post: str = typer.Option(..., "--post", help="Post-treatment concentration column."),
    covariates: str | None = typer.Option(None, "--covariates", help="Comma-separated covariates."),
    lloq: float | None = typer.Option(None, "--lloq", help="Lower limit of quantification."),
    lloq_rule: str = typer.Option("half", "--lloq-rule", help="half (LLOQ/2), sqrt2 (LLOQ/√2) or exclude."),
    reference: str | None = typer.Option(None, "--reference", help="Reference arm (default: first sorted)."),
    as_json: bool = JSON,
) -> None:
    """Log-scale ANCOVA of a biomarker: geometric-mean ratio treatment/reference with CI.

    JSON keys: ratio, ci_lower, ci_upper, p_value, percent_change, log_estimate, std_error,
    df_resid, n, n_below_lloq, n_excluded, lloq, lloq_rule, geometric_means, terms.
    """
    from alstrial.stats.biomarkers import biomarker_ancova

    _run(
        lambda: biomarker_ancova(
            _read(data),
            arm=arm,
            baseline=baseline,
            post=post,
            covariates=_split(covariates),
            lloq=lloq,
            lloq_rule=lloq_rule,  # type: ignore[arg-type]
            reference=reference,
        ),
        as_json,
        lambda r: r.to_dict(),
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `stats` group."""
    app.command(name="cafs")(cafs)
    app.command(name="survival")(survival)
    app.command(name="responder")(responder)
    app.command(name="slope-model")(slope_model)
    app.command(name="biomarker")(biomarker)

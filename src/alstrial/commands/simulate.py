"""`alstrial simulate`: the natural-history model from the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from alstrial.errors import AlstrialError

_MECHANISMS = ("mcar", "mar", "mnar")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _params(effect_slope: float | None, effect_slope_high: float | None, dropout_mechanism: str | None) -> Any:
    from alstrial.protocol.simulation import SimulationParams

    base = SimulationParams()
    treatment: dict[str, Any] = {}
    if effect_slope is not None:
        treatment["effect_slope_points_per_month"] = effect_slope
    if effect_slope_high is not None:
        treatment["effect_slope_high_points_per_month"] = effect_slope_high
    dump = base.model_dump()
    dump["treatment"].update(treatment)
    if dropout_mechanism is not None:
        if dropout_mechanism not in _MECHANISMS:
            raise _fail(
                f"invalid value for --dropout-mechanism, expected one of {_MECHANISMS} (not {dropout_mechanism!r})"
            )
        dump["dropout"]["mechanism"] = dropout_mechanism
    try:
        return SimulationParams.model_validate(dump)
    except ValidationError as exc:
        raise _fail(str(exc)) from None


def _print_calibration(console: Console, result: Any, size: int, seed: int) -> None:
    table = Table(title=f"Simulator calibration (n = {size} randomized per cohort, seed {seed})")
    for col in ("quantity", "target", "source", "simulated", "MC interval (±2 SE)", "tolerance", "pass"):
        table.add_column(col, justify="left" if col in ("quantity", "source") else "right")
    verdict = {True: "[green]pass[/green]", False: "[red]FAIL[/red]", None: "[yellow]KNOWN GAP[/yellow]"}
    for r in result.summary.to_dict(orient="records"):
        if r["kind"] == "interval":
            lo, hi = r["interval"]
            digits = 1 if max(abs(lo), abs(hi)) >= 10 else 2  # 18.9–37.8 %, an ICC's 0.92–0.98
            tol = f"in {lo:.{digits}f}–{hi:.{digits}f}"
        else:
            tol = {
                "at_least": "≥ target",
                "at_most": f"≤ target + {r['tolerance']:.2f}",
                "reported": "–",
                "context": "–",
            }.get(r["kind"], f"±{r['tolerance']:.2f}")
        target = "–" if r["target"] != r["target"] else f"{r['target']:.2f}"
        table.add_row(
            r["quantity"],
            target,
            r["source"],
            f"{r['simulated']:.2f}",
            f"{r['mc_low']:.2f} to {r['mc_high']:.2f}",
            tol,
            "[cyan]context[/cyan]" if r["kind"] == "context" else verdict[r["within"]],
        )
    console.print(table)
    calibrated = result.calibrated
    n_ok = int(calibrated["within"].astype(bool).sum())
    console.print(f"{n_ok} of {len(calibrated)} targets within tolerance + 2 MC SE")
    reported = result.summary[result.summary["kind"] == "reported"]
    if len(reported):
        console.print(
            f"{len(reported)} KNOWN GAPS: quantities without a published target (no source found), shown but not"
            " calibrated"
        )
    context = result.summary[result.summary["kind"] == "context"]
    if len(context):
        console.print(
            f"{len(context)} CONTEXT rows: published figures a closer source supersedes, shown but not calibrated"
        )
    floor = result.screen_failure_floor
    if floor is not None:
        console.print(
            f"Screen failures: simulated {100 * result.screen_failure_fraction:.1f} %; the lowest any referral could"
            f" give this enrolled population is {100 * floor.value:.1f} % (MC SE {100 * floor.se:.1f}) — published"
            " 25.5 % (simulate/SOURCES.md)"
        )
    sub = Table(title="Placebo by baseline ALSFRS-R (as Cudkowicz 2022 Table 4; change to the last visit)")
    for col in ("baseline", "n", "responders %", "published %", "change", "published change"):
        sub.add_column(col, justify="right")
    for r in result.subgroups.to_dict(orient="records"):
        pc = r["published_change"]
        pub = "–" if pc is None or pc != pc else f"{pc:.2f}"
        sub.add_row(
            r["baseline"],
            str(r["n"]),
            f"{r['responders_pct']:.1f}",
            f"{r['published_responders_pct']:.1f}",
            f"{r['change_to_end']:.2f}",
            pub,
        )
    console.print(sub)
    for r in result.subgroup_directions.to_dict(orient="records"):
        agree = "same direction as published" if r["same_direction"] else "[red]NOT the published direction[/red]"
        console.print(f"{r['pattern']}: published {r['published']:+.2f}, simulated {r['simulated']:+.2f} — {agree}")


def _print_against(console: Console, params: Any, path: Path, size: int, seed: int) -> None:
    from alstrial.simulate.against import compare_with_file

    result = compare_with_file(path, params, n=size, seed=seed)
    table = Table(
        title=f"Simulated placebo (n = {size}, seed {seed}) against {path.name} ({result.n_subjects} subjects)"
    )
    for col in ("statistic", "your data", "SE", "simulated", "MC SE", "z"):
        table.add_column(col, justify="left" if col == "statistic" else "right")
    for r in result.table.to_dict(orient="records"):
        z = "–" if r["z"] != r["z"] else f"{r['z']:+.1f}"
        table.add_row(
            r["statistic"], f"{r['data']:.3f}", f"{r['data_se']:.3f}", f"{r['simulated']:.3f}", f"{r['sim_se']:.3f}", z
        )
    console.print(table)
    console.print("z = (simulated - data) / combined SE; |z| > 2 flags a statistic the model does not reproduce")
    console.print(
        "Totals statistics use simulated placebo participants matched one-to-one on first total and visit schedule."
    )
    console.print(str(result.classifier) if result.classifier is not None else result.classifier_note)


def simulate(
    calibration: bool = typer.Option(False, "--calibration", help="Print calibration targets beside simulated values."),
    n: int = typer.Option(None, "--n", help="Participants to randomize (default 189; 2000 with --calibration)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same output)."),
    effect_slope: float = typer.Option(None, "--effect-slope", help="Slope effect, points/month (baseline < 35)."),
    effect_slope_high: float = typer.Option(None, "--effect-slope-high", help="Slope effect when baseline >= 35."),
    dropout_mechanism: str = typer.Option(None, "--dropout-mechanism", help="mcar, mar or mnar."),
    out: Path = typer.Option(None, "--out", help="Write participants.csv, visits.csv, screening.csv here."),
    against: Path = typer.Option(
        None,
        "--against",
        help="Compare the simulated placebo arm with your own long ALSFRS-R file "
        "(columns subject, day or month, total; optional bulbar, fine_motor, gross_motor, respiratory).",
    ),
) -> None:
    """Simulate virtual ALS participants (a whole trial cohort) or check the calibration."""
    from alstrial.simulate.calibration import run_calibration
    from alstrial.simulate.cohort import simulate_cohort

    size = n if n is not None else (1500 if calibration else 189)
    if size < 1:
        raise _fail(f"invalid value for --n, expected a positive integer (not {size!r})")
    params = _params(effect_slope, effect_slope_high, dropout_mechanism)
    console = Console() if sys.stdout.isatty() else Console(width=170)
    try:
        if against is not None:
            _print_against(console, params, against, size if n is not None else 1500, seed)
            return
        if calibration:
            result = run_calibration(params, n=size, seed=seed)
            _print_calibration(console, result, size, seed)
            return
        cohort = simulate_cohort(params, size, seed=seed)
    except AlstrialError as exc:
        raise _fail(str(exc)) from None
    console.print(str(cohort))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        cohort.participants.to_csv(out / "participants.csv", index=False)
        cohort.visits.to_csv(out / "visits.csv", index=False)
        cohort.screening.to_csv(out / "screening.csv", index=False)
        console.print(f"wrote participants.csv, visits.csv, screening.csv to {out}")

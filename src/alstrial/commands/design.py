"""`alstrial design`: simulation-based power, type I error and design comparison."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from alstrial.errors import AlstrialError

app = typer.Typer(no_args_is_help=True, help="Trial design by simulation: power, type I error, sample size.")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _console() -> Console:
    return Console() if sys.stdout.isatty() else Console(width=170)


@app.command("params")
def params() -> None:
    """List the parameters --grid accepts and the analyses --analyses runs."""
    from alstrial.design.power.analyses import ANALYSES, DEFAULT_ANALYSES
    from alstrial.design.power.scenarios import DESIGN_PARAMS, simulation_paths

    console = _console()
    table = Table(title="Design parameters (--grid NAME=v1,v2,...)")
    for col in ("name", "meaning", "values"):
        table.add_column(col)
    for p in DESIGN_PARAMS.values():
        table.add_row(p.name, p.help, p.allowed)
    console.print(table)
    console.print("Simulation parameters (by dotted path, or by the last part when unique):")
    console.print("  " + ", ".join(simulation_paths()))
    analyses = Table(title=f"Analyses (--analyses a,b,...; default {','.join(DEFAULT_ANALYSES)})")
    analyses.add_column("name")
    analyses.add_column("what")
    for a in ANALYSES.values():
        analyses.add_row(a.name, a.description)
    console.print(analyses)


def _power_table(result: Any, title: str) -> Table:
    table = Table(title=title)
    names = list(dict.fromkeys(k for s in result.study.scenarios for k in s.values))
    for col in [*names, "analysis", "reps", "rejections", "rejection rate", "MCSE", "95% CI", "failed fits"]:
        table.add_column(col, justify="left" if col in (*names, "analysis") else "right")
    for row in result.summary.itertuples():
        scenario = result.study.scenarios[int(row.scenario)]
        rate = f"{row.power:.3f}" + (" (type I)" if row.null else "")
        table.add_row(
            *(str(scenario.values.get(n, "")) for n in names),
            row.analysis,
            str(row.reps),
            str(row.rejections),
            rate,
            f"{row.mcse:.3f}",
            f"{row.ci_lower:.3f}–{row.ci_upper:.3f}",
            str(row.failed),
        )
    return table


def _design_table(table: Any, budget: int | None) -> Table:
    within = f" within {budget} participants" if budget else ""
    out = Table(title=f"Design comparison: most power{within} first")
    for col in ("rank", "design", "analysis", "N", "screened/trial", "participant-months", "power", "MCSE"):
        out.add_column(col, justify="left" if col in ("design", "analysis") else "right")
    for r in table.itertuples():
        out.add_row(
            str(r.rank),
            r.design,
            r.analysis,
            str(r.participants),
            f"{r.screened:.0f}",
            f"{r.participant_months:.0f}",
            f"{r.power:.3f}",
            f"{r.mcse:.3f}",
        )
    return out


@app.command("power")
def power(
    protocol_path: Path = typer.Option(None, "--protocol", help="Protocol TOML file (default: the seed trial)."),
    seed: int = typer.Option(0, "--seed", help="Root seed: replicate r of every scenario uses child r of it."),
    out: Path = typer.Option(Path("power-output"), "--out", help="Folder for power.json, figures, Parquet, chunks."),
    grid: list[str] = typer.Option(
        [], "--grid", help="PARAM=v1,v2,... (repeatable); see `alstrial design params` for the names."
    ),
    reps: int = typer.Option(100, "--reps", help="Simulated trials per scenario."),
    analyses: str = typer.Option(None, "--analyses", help="Comma-separated analyses (default mmrm,responder,cafs)."),
    executor: str = typer.Option("processes", "--executor", help="inprocess, processes (all cores) or dask."),
    workers: int = typer.Option(None, "--workers", help="Worker processes (default: all cores)."),
    scheduler: str = typer.Option(None, "--scheduler", help="Dask scheduler address, e.g. tcp://HOST:8786."),
    chunk: int = typer.Option(
        None, "--chunk", help="Replicates per unit of work (default: a quarter of --reps, at most 25)."
    ),
    budget: int = typer.Option(None, "--budget", help="Compare only designs with at most this many participants."),
    target_power: float = typer.Option(
        None, "--target-power", help="Find the smallest N reaching this power (bisection on simulated power)."
    ),
) -> None:
    """Simulate the trial many times per scenario and report power (type I error at no effect)."""
    from alstrial.design.power.analyses import check_analyses, parse_analyses
    from alstrial.design.power.executors import EXECUTORS
    from alstrial.design.power.scenarios import expand_grid, parse_grid
    from alstrial.protocol import load_protocol

    if executor not in EXECUTORS:
        raise _fail(f"invalid value {executor!r} for --executor: expected one of {', '.join(EXECUTORS)}")
    if scheduler is not None and executor != "dask":
        raise _fail("--scheduler needs --executor dask")
    for name, value in (("--reps", reps), ("--chunk", chunk), ("--workers", workers), ("--budget", budget)):
        if value is not None and value < 1:
            raise _fail(f"invalid value {value!r} for {name}: expected a positive integer")
    if seed < 0:
        raise _fail(f"invalid value {seed!r} for --seed: expected an integer >= 0")
    try:
        protocol = load_protocol(protocol_path)
        names = parse_analyses(analyses)
        check_analyses(protocol, names)
        parsed = parse_grid(grid)
        scenarios = expand_grid(protocol, parsed)
    except AlstrialError as exc:
        raise _fail(str(exc)) from None
    study = {"reps": reps, "seed": seed, "analyses": names, "chunk_size": chunk or _default_chunk(reps)}
    where = {"executor": executor, "workers": workers, "scheduler": scheduler}
    if target_power is not None:
        _search(protocol, parsed, target_power, out, study, where)
    else:
        _study(protocol, scenarios, out, budget, study, where)


def _default_chunk(reps: int) -> int:
    """25 replicates a chunk: a chunk shares the simulator's and the fit's fixed costs among its trials
    (10,000 seed trials took 67 s on 2 cores in chunks of 10, 60 s in chunks of 25, 58 s in chunks of
    50), while a quarter of a small run keeps every worker busy. It depends on --reps alone, so the
    same command resumes on the same chunks."""
    return max(1, min(25, -(-reps // 4)))


def _progress() -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]simulating trials"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )


def _interrupted(out: Path) -> typer.Exit:
    typer.echo(
        f"interrupted: finished chunks are saved in {out / 'chunks'}; run the same command again to resume", err=True
    )
    return typer.Exit(130)


def _study(
    protocol: Any, scenarios: Any, out: Path, budget: int | None, settings: dict[str, Any], where: dict[str, Any]
) -> None:
    from alstrial.design.power.run import PowerStudy, run_power

    console = _console()
    study = PowerStudy(protocol, scenarios, **settings)
    try:
        with _progress() as bar:
            task = bar.add_task("trials", total=study.reps * len(scenarios))
            result = run_power(
                study, out, progress=lambda done, total: bar.update(task, completed=done, total=total), **where
            )
        # Ctrl-C while the tables and figures are written leaves every trial saved: the rerun reads
        # them back and writes the outputs, so the advice is the same as during the simulation.
        _study_outputs(console, protocol, scenarios, study.reps, study.seed, result, out, budget)
    except KeyboardInterrupt:
        raise _interrupted(out) from None
    except AlstrialError as exc:
        raise _fail(str(exc)) from None


def _study_outputs(
    console: Any, protocol: Any, scenarios: Any, reps: int, seed: int, result: Any, out: Path, budget: int | None
) -> None:
    from alstrial.design.power.compare import design_table
    from alstrial.design.power.figures import design_figure, power_curves

    alpha = protocol.analysis.alpha
    console.print(
        _power_table(
            result,
            f"Simulated rejection rate, two-sided alpha {alpha:g}, {reps} replicates per scenario, seed {seed} "
            "(power; type I error where the simulated effect is zero)",
        )
    )
    figures = [power_curves(result, out / "power_curves.png")]
    if len(scenarios) > 1:
        table = design_table(result, budget)
        if not table.empty:
            console.print(_design_table(table, budget))
            table.to_csv(out / "designs.csv", index=False)
            figures.append(design_figure(table, out / "designs.png", reps, budget))
    reused = reps * len(scenarios) - result.computed
    console.print(f"{result.computed} trials simulated now, {reused} read back from {out / 'chunks'}")
    for path in [result.files["power.json"], result.files["replicates.parquet"], *figures]:
        console.print(f"wrote {path}")


def _search(
    protocol: Any, grid: dict[str, list[Any]], target: float, out: Path, settings: dict[str, Any], where: dict[str, Any]
) -> None:
    import itertools

    from alstrial.design.power.sample_size import find_sample_sizes

    console = _console()
    reps, seed = settings["reps"], settings["seed"]
    keys = list(grid)
    combos = [dict(zip(keys, c, strict=True)) for c in itertools.product(*(grid[k] for k in keys))] if keys else [{}]
    found = []
    try:
        with _progress() as bar:
            task = bar.add_task("trials", total=None)
            for values in combos:
                found += find_sample_sizes(
                    protocol,
                    values,
                    target=target,
                    out_dir=out / "search",
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                    **settings,
                    **where,
                )
    except KeyboardInterrupt:
        raise _interrupted(out / "search") from None
    except AlstrialError as exc:
        raise _fail(str(exc)) from None
    table = Table(title=f"Smallest N with simulated power >= {target:g} ({reps} replicates per N, seed {seed})")
    for col in [*keys, "analysis", "N", "power at N", "MCSE", "sizes tried"]:
        table.add_column(col, justify="left" if col in (*keys, "analysis") else "right")
    for r in found:
        table.add_row(
            *(str(r.values[k]) for k in keys),
            r.analysis,
            str(r.n) if r.n is not None else "not reached",
            f"{r.power:.3f}",
            f"{r.mcse:.3f}",
            " ".join(str(n) for n, _, _ in r.evaluations),
        )
    console.print(table)
    console.print(
        "Monte Carlo caveat: each power is an estimate (MCSE shown); the N found is where this noisy curve "
        "crosses the target. Confirm it with more replicates (--reps) at that N."
    )
    records = [
        {
            "scenario": r.values,
            "analysis": r.analysis,
            "target_power": r.target,
            "participants": r.n,
            "power": r.power,
            "mcse": r.mcse,
            "reps": reps,
            "evaluations": [{"participants": n, "power": p, "mcse": s} for n, p, s in r.evaluations],
        }
        for r in found
    ]
    out.mkdir(parents=True, exist_ok=True)
    (out / "sample_size.json").write_text(json.dumps(records, indent=2) + "\n")
    console.print(f"wrote {out / 'sample_size.json'}")

"""`alstrial demo`: the seed trial end to end on SQLite, with a report at the end."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from alstrial.errors import AlstrialError


def demo(
    out: Path = typer.Option(Path("demo-output"), "--out", help="Folder for trial.db, results.json and report.html."),
    seed: int = typer.Option(2026, "--seed", help="Seed of the whole simulated trial (same seed, same trial)."),
    protocol: Path | None = typer.Option(None, "--protocol", help="Protocol file; the shipped seed trial by default."),
    n: int | None = typer.Option(None, "--n", min=2, help="Participants to randomize (default: the protocol's size)."),
) -> None:
    """Run the seed trial end to end: virtual sites → lock → unblind → analysis → report."""
    from alstrial.workflows.demo import run_demo  # heavy imports only when the command runs

    console = Console(stderr=True)
    started = time.perf_counter()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=None)

        def step(message: str) -> None:
            bar.update(task, description=message)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            run = run_demo(out, seed=seed, protocol_path=protocol, n_randomized=n, step=step, progress=progress)
        except AlstrialError as exc:
            console.print(f"[red]demo failed:[/red] {exc}")
            raise typer.Exit(2) from None
    elapsed = time.perf_counter() - started
    r = run.results
    c = r["consort"]
    out_console = Console()
    out_console.print(f"[bold]{r['trial']['title']}[/bold] (simulated, seed {seed}) — finished in {elapsed:.1f} s")
    out_console.print(
        f"screened {c['screened']}, screen failures {c['screen_failed']}, randomized {c['randomized']}, "
        f"dropouts {r['dropouts']['total']} (by sex {r['dropouts']['by_sex']})"
    )
    for arm, a in c["arms"].items():
        out_console.print(
            f"  {arm}: randomized {a['randomized']}, treated {a['treated']}, completed {a['completed']}, "
            f"discontinued {a['discontinued']}"
        )
    for endpoint_id, e in r["estimands"].items():
        if "error" in e:
            out_console.print(f"  {endpoint_id}: [red]not analysed[/red] — {e['error']}")
            continue
        res = e["result"]
        if e["method"] == "responder":
            out_console.print(
                f"  primary ({endpoint_id}): responder odds ratio {res['odds_ratio']:.2f} "
                f"(95% CI {res['ci_lower']:.2f} to {res['ci_upper']:.2f}), p = {res['p_value']:.3f}"
            )
        elif e["method"] == "mmrm_change":
            out_console.print(
                f"  {endpoint_id}: ALSFRS-R change difference {res['difference']:+.2f} at {res['primary_visit']} "
                f"(95% CI {res['ci_lower']:.2f} to {res['ci_upper']:.2f}), p = {res['p_value']:.3f}"
            )
    audit = r["audit"]
    out_console.print(f"audit trail: {audit['records']} records, {'verified' if audit['verified'] else 'BROKEN'}")
    out_console.print(f"report:   {run.report_path.resolve()}   (open it in a browser)")
    out_console.print(f"results:  {run.results_path.resolve()}   (tables/*.csv next to it)")
    out_console.print(f"database: {run.database.resolve()}   (alstrial audit verify --db {run.database})")
    out_console.print(
        f"serve:    alstrial serve --db {run.database} --dev   (then open http://127.0.0.1:8000 in a browser)"
    )
    out_console.print(
        f"sign in:  user [bold]{run.admin_username}[/bold], password [bold]{run.admin_password}[/bold]   "
        "(the demo's only account that can sign in; new every run, shown only now)"
    )
    out_console.print(
        f"browse:   ALSTRIAL_PASSWORD='{run.admin_password}' alstrial audit log --db {run.database} "
        f"--user {run.admin_username} --participant S01-0001"
    )

"""`alstrial randomize` commands: generate and check concealed allocation lists.

The list goes to a file (or stdout) for the unblinded statistician; the balance summary goes
to stderr so that piping the CSV never mixes the two.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated, NoReturn

import pandas as pd
import typer

from alstrial.domain.randomization import (
    AllocationList,
    all_strata,
    balance_report,
    generate_block_list,
)
from alstrial.errors import AlstrialError
from alstrial.protocol import Protocol, load_protocol

app = typer.Typer(
    no_args_is_help=True,
    help="Generate and check concealed randomization lists; randomize participants; read arms (unblinded roles).",
)

ProtocolOption = Annotated[
    Path | None,
    typer.Option("--protocol", "-p", help="Protocol TOML file (default: the shipped seed trial)."),
]


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def _load(path: Path | None) -> Protocol:
    try:
        return load_protocol(path)
    except AlstrialError as exc:
        _fail(str(exc))


def _write_atomically(text: str, out: Path) -> None:
    """Write via a temporary file in the same folder, so a failure never leaves half a list."""
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        _fail(f"cannot write {str(out)!r}: folder {str(folder)!r} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, out)
    except OSError as exc:
        _fail(f"cannot write {str(out)!r}: {exc.strerror or exc}")


@app.command("list")
def list_(
    seed: Annotated[int, typer.Option("--seed", help="Seed of the list (keep it with the sealed list).")],
    per_stratum: Annotated[
        int | None,
        typer.Option(
            "--per-stratum",
            help="Entries per stratum, rounded up to whole blocks (default: the protocol's per_stratum).",
        ),
    ] = None,
    protocol: ProtocolOption = None,
    out: Annotated[Path | None, typer.Option("--output", "-o", help="CSV file to write (default: stdout).")] = None,
) -> None:
    """Generate the stratified permuted-block allocation list with kit codes.

    CSV columns: stratum, sequence, block, block_size, arm, kit_code. Each stratum's list ends at a block boundary,
    so it may hold a few more entries than --per-stratum.
    """
    if per_stratum is not None and per_stratum < 1:
        _fail(f"invalid value for --per-stratum, expected an integer ≥ 1 (not {per_stratum})")
    if seed < 0:
        _fail(f"invalid value for --seed, expected an integer ≥ 0 (not {seed})")
    spec = _load(protocol)
    if spec.randomization.method != "permuted_block":
        _fail(
            f"the protocol randomizes by {spec.randomization.method!r}: arms are decided at enrolment "
            "by the minimizer, so there is no list to generate"
        )
    factors = spec.strata_levels()
    try:
        allocation = generate_block_list(
            [(arm.code, arm.ratio) for arm in spec.arms],
            all_strata(factors),
            per_stratum=per_stratum if per_stratum is not None else spec.randomization.per_stratum,
            seed=seed,
            block_multiples=spec.randomization.block_multiples,
        )
        report = balance_report(allocation, factors=factors)
    except AlstrialError as exc:
        _fail(str(exc))
    text = allocation.to_frame().to_csv(index=False, lineterminator="\n")
    if out is None:
        typer.echo(text, nl=False)
    else:
        _write_atomically(text, out)
    typer.echo(str(allocation), err=True)
    typer.echo(str(report), err=True)
    if out is not None:
        typer.echo(f"wrote {len(allocation)} entries to {out}", err=True)


@app.command("check")
def check(
    path: Annotated[Path, typer.Argument(help="Allocation list CSV written by `alstrial randomize list`.")],
    protocol: ProtocolOption = None,
) -> None:
    """Check a filed allocation list against the protocol and print its balance report.

    Every block must hold each arm in the allocation ratio, sequences must be contiguous and kit codes unique;
    every stratum of the protocol must be present.
    """
    spec = _load(protocol)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        _fail(f"cannot read allocation list {str(path)!r}: {exc}")
    factors = spec.strata_levels()
    try:
        strata = all_strata(factors)
        allocation = AllocationList.from_frame(frame, [(a.code, a.ratio) for a in spec.arms], strata=strata)
        report = balance_report(allocation, factors=factors)
    except AlstrialError as exc:
        _fail(f"{path}: {exc}")
    empty = [s for s in strata if allocation.length(s) == 0]
    if empty:
        _fail(f"{path}: no entries for {len(empty)} stratum/strata of the protocol: {empty!r}")
    typer.echo(str(report))
    typer.echo(f"ok: {len(allocation)} entries in {len(strata)} strata, every block balanced")

"""A set of datasets with their metadata, written all-or-nothing as XPT v5 files plus define.xml.

Every dataset is checked against the XPT v5 limits before the first byte is written; the files
go to a temporary folder beside the target and are moved in only when all of them (and
define.xml) were written, so a failure never leaves half an export behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from alstrial.errors import Problem
from alstrial.interop.sdtm_spec import DomainSpec
from alstrial.interop.xpt import XptLimitExceeded, check_xpt_v5, write_xpt


@dataclass(frozen=True)
class Dataset:
    """One dataset: its frame (columns in final order) and its metadata."""

    spec: DomainSpec
    frame: pd.DataFrame

    @property
    def name(self) -> str:
        return self.spec.name

    def labels(self) -> dict[str, str]:
        return {v.name: v.label for v in self.spec.variables}


@dataclass(frozen=True)
class Package:
    """Datasets of one standard (SDTM or ADaM) ready to be written, with what define.xml needs to know."""

    standard: str  # "SDTM" or "ADaM"
    study_id: str
    study_name: str
    datasets: tuple[Dataset, ...]
    with_arms: bool
    notes: tuple[str, ...] = field(default=())
    #: value-level code lists: variable name -> {coded value: decode}
    codelists: dict[str, dict[str, str]] = field(default_factory=dict)
    #: define.xml comments: "DM" (a dataset) or "AE.AEDECOD" (a variable) -> text
    comments: dict[str, str] = field(default_factory=dict)

    def dataset(self, name: str) -> Dataset:
        return next(d for d in self.datasets if d.name == name)

    def problems(self) -> list[Problem]:
        out: list[Problem] = []
        for d in self.datasets:
            out += check_xpt_v5(d.name, d.spec.label, d.frame, d.labels())
        return out


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    out_dir: Path
    files: tuple[Path, ...]
    rows: dict[str, int]
    with_arms: bool
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        lines = [f"wrote {len(self.files)} file(s) to {self.out_dir}"]
        lines += [f"  {name.lower()}.xpt  {n} row(s)" for name, n in self.rows.items()]
        if not self.with_arms:
            lines.append("  blinded: arm-revealing variables withheld (ARMCD, ARM, ACTARMCD, ACTARM, EXDOSTXT, EXTRT)")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {
            "out_dir": str(self.out_dir),
            "files": [str(f) for f in self.files],
            "rows": self.rows,
            "with_arms": self.with_arms,
            "notes": list(self.notes),
        }


def write_package(package: Package, out_dir: Path, define: Callable[[Package], bytes]) -> ExportResult:
    """Check every dataset, then write all XPT files and define.xml into ``out_dir`` at once."""
    problems = package.problems()
    if problems:
        raise XptLimitExceeded(problems, context=f"{package.standard} export: nothing was written")
    define_xml = define(package)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out_dir))
    try:
        names = []
        for d in package.datasets:
            write_xpt(staging / f"{d.name.lower()}.xpt", d.name, d.spec.label, d.frame, d.labels())
            names.append(f"{d.name.lower()}.xpt")
        (staging / "define.xml").write_bytes(define_xml)
        names.append("define.xml")
        files = []
        for name in names:
            os.replace(staging / name, out_dir / name)
            files.append(out_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    rows = {d.name: len(d.frame) for d in package.datasets}
    return ExportResult(out_dir, tuple(files), rows, package.with_arms, package.notes)

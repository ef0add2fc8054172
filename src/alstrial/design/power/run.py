"""Run a power study: scenarios x replicates x analyses, in chunks, resumable, any executor.

    study = PowerStudy(protocol, expand_grid(protocol, {"effect": [0, 0.5]}), reps=200, seed=1)
    result = run_power(study, Path("out"))
    print(result)

Rejection counts come from the stored chunk files, read one at a time, so the summary of a
resumed study is the summary of an uninterrupted one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy import stats as sps

from alstrial.design.power.analyses import DEFAULT_ANALYSES, check_analyses
from alstrial.design.power.executors import run_tasks
from alstrial.design.power.replicates import run_replicates
from alstrial.design.power.scenarios import PowerError, Scenario
from alstrial.design.power.store import ChunkStore, run_key
from alstrial.protocol.models import Protocol

#: replicates a unit of work: enough to share the simulator's and the fit's fixed costs within a chunk
DEFAULT_CHUNK = 25
#: called with (replicates done, replicates in all) as chunks finish
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class PowerStudy:
    """What to simulate: scenarios, replicates per scenario, analyses, root seed."""

    protocol: Protocol
    scenarios: Sequence[Scenario]
    reps: int
    seed: int = 0
    analyses: Sequence[str] = DEFAULT_ANALYSES
    chunk_size: int = DEFAULT_CHUNK

    def __post_init__(self) -> None:
        if self.reps < 1:
            raise PowerError(f"invalid value {self.reps!r} for reps: expected a positive integer")
        if self.chunk_size < 1:
            raise PowerError(f"invalid value {self.chunk_size!r} for chunk size: expected a positive integer")
        if self.seed < 0:
            raise PowerError(f"invalid value {self.seed!r} for seed: expected an integer >= 0")
        check_analyses(self.protocol, tuple(self.analyses))

    @property
    def alpha(self) -> float:
        return self.protocol.analysis.alpha

    def key(self, scenario: Scenario) -> str:
        return run_key(scenario.key, self.seed, self.analyses, self.alpha)


def is_null(scenario: Scenario) -> bool:
    """True when the scenario simulates no treatment effect on ALSFRS-R or survival (type I error)."""
    t = scenario.protocol.simulation.treatment
    return (
        t.effect_slope_points_per_month == 0
        and t.effect_slope_high_points_per_month == 0
        and (t.survival_hazard_ratio == 1)
    )


@dataclass
class PowerResult:
    """Rejection counts per scenario and analysis, and where the per-replicate results are."""

    study: PowerStudy
    summary: pd.DataFrame
    out_dir: Path
    computed: int = 0  # replicates simulated by this run (the rest were read back from chunk files)
    files: dict[str, Path] = field(default_factory=dict)

    def records(self) -> list[dict[str, Any]]:
        """``power.json``: one entry per scenario and analysis."""
        out = []
        for row in self.summary.to_dict(orient="records"):
            scenario = self.study.scenarios[int(row["scenario"])]
            out.append(
                {
                    "scenario": _jsonable(scenario.values),
                    "analysis": row["analysis"],
                    "reps": int(row["reps"]),
                    "rejections": int(row["rejections"]),
                    "power": float(row["power"]),
                    "mcse": float(row["mcse"]),
                }
            )
        return out

    def __str__(self) -> str:
        study = self.study
        lines = [f"Power study: {len(study.scenarios)} scenario(s) x {study.reps} replicates, seed {study.seed}"]
        for row in self.summary.to_dict(orient="records"):
            what = "type I error" if row["null"] else "power"
            lines.append(
                f"  {study.scenarios[int(row['scenario'])].describe()} | {row['analysis']}: {what} "
                f"{row['power']:.3f} (MCSE {row['mcse']:.3f}; {row['rejections']}/{row['reps']})"
            )
        return "\n".join(lines)


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in values.items()}


def binomial_summary(rejections: int, reps: int) -> dict[str, float]:
    """Rejection rate, its Monte Carlo SE sqrt(p(1-p)/n) and the exact (Clopper-Pearson) 95 % interval."""
    p = rejections / reps
    low = float(sps.beta.ppf(0.025, rejections, reps - rejections + 1)) if rejections else 0.0
    high = float(sps.beta.ppf(0.975, rejections + 1, reps - rejections)) if rejections < reps else 1.0
    return {"power": p, "mcse": float(np.sqrt(p * (1 - p) / reps)), "ci_lower": low, "ci_upper": high}


def run_power(
    study: PowerStudy,
    out_dir: Path,
    *,
    executor: str = "processes",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    on_chunk: Callable[[int], None] | None = None,
    publish: bool = True,
) -> PowerResult:
    """Compute what the chunk files in ``out_dir`` lack, then summarise and write the results.

    ``on_chunk`` is called with the number of chunks finished so far after each is stored (an
    exception from it stops the run; what was stored stays for the next run to resume from).
    ``publish=False`` only counts (no ``power.json`` or ``replicates.parquet``): the sample-size
    search evaluates many sizes.
    """
    out_dir = Path(out_dir)
    store = ChunkStore(out_dir)
    keys = [study.key(s) for s in study.scenarios]
    tasks = [
        (scenario, study.seed, start, stop, tuple(study.analyses))
        for scenario, key in zip(study.scenarios, keys, strict=True)
        for start, stop in store.missing(key, study.reps, study.chunk_size)
    ]
    total = study.reps * len(study.scenarios)
    todo = sum(t[3] - t[2] for t in tasks)
    done = total - todo
    if progress:
        progress(done, total)
    key_of = {id(s): k for s, k in zip(study.scenarios, keys, strict=True)}
    chunks = run_tasks(run_replicates, tasks, executor=executor, workers=workers, scheduler=scheduler)
    for finished, (task, frame) in enumerate(chunks, start=1):
        scenario, _, start, stop, _ = task
        # a task that came back through pickling is a copy: find its key by content
        key = key_of.get(id(scenario)) or study.key(scenario)
        store.write(key, start, stop, frame)
        done += stop - start
        if progress:
            progress(done, total)
        if on_chunk:
            on_chunk(finished)
    summary, files = _collect(study, store, keys, out_dir if publish else None)
    result = PowerResult(study=study, summary=summary, out_dir=out_dir, computed=todo, files=files)
    if publish:
        (out_dir / "power.json").write_text(json.dumps(result.records(), indent=2) + "\n")
        result.files["power.json"] = out_dir / "power.json"
    return result


def _collect(
    study: PowerStudy, store: ChunkStore, keys: Sequence[str], out_dir: Path | None
) -> tuple[pd.DataFrame, dict[str, Path]]:
    """Count rejections chunk by chunk, streaming the rows into ``replicates.parquet`` (if ``out_dir``)."""
    path = (out_dir or Path()) / "replicates.parquet"
    tmp = path.with_suffix(".parquet.tmp")
    grid_names = list(dict.fromkeys(k for s in study.scenarios for k in s.values))
    counts: dict[tuple[int, str], dict[str, float]] = {}
    writer: pq.ParquetWriter | None = None
    try:
        for index, (scenario, key) in enumerate(zip(study.scenarios, keys, strict=True)):
            for frame in store.read(key, study.reps):
                frame = frame.sort_values(["replicate"], kind="stable")
                frame.insert(0, "scenario", index)
                for name in grid_names:
                    frame.insert(1, f"grid_{name}", str(scenario.values.get(name, "")))
                for analysis, g in frame.groupby("analysis", sort=False):
                    c = counts.setdefault((index, str(analysis)), {"reps": 0, "rejections": 0, "failed": 0, "est": 0.0})
                    c["reps"] += len(g)
                    c["rejections"] += int(g["rejected"].sum())
                    c["failed"] += int((g["error"] != "").sum())
                    c["est"] += float(np.nansum(g["estimate"]))
                if out_dir is None:
                    continue
                table = pa.Table.from_pandas(frame, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table.cast(writer.schema))
    finally:
        if writer is not None:
            writer.close()
    if writer is not None:
        tmp.replace(path)
    rows = []
    for index, scenario in enumerate(study.scenarios):
        for analysis in study.analyses:
            c = counts.get((index, analysis), {"reps": 0, "rejections": 0, "failed": 0, "est": 0.0})
            if c["reps"] != study.reps:
                raise PowerError(
                    f"scenario {scenario.describe()!r}, analysis {analysis!r}: {c['reps']} stored replicates, "
                    f"expected {study.reps} (the chunk files in {store.folder} are incomplete)"
                )
            rows.append(
                {
                    "scenario": index,
                    "label": scenario.describe(),
                    "analysis": analysis,
                    "null": is_null(scenario),
                    "participants": scenario.participants,
                    "reps": int(c["reps"]),
                    "rejections": int(c["rejections"]),
                    "failed": int(c["failed"]),
                    "mean_estimate": c["est"] / max(c["reps"] - c["failed"], 1),
                    **binomial_summary(int(c["rejections"]), int(c["reps"])),
                }
            )
    return pd.DataFrame(rows), ({"replicates.parquet": path} if writer is not None else {})

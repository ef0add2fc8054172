"""Whole-process time of small `alstrial stats` commands: start-up (imports) dominates.

Goal (issue 13): `alstrial stats mmrm` on fev_data and `alstrial stats cafs` on 1,000
participants in under 0.6 s as whole processes (R's `Rscript` nlme fit 0.50 s, base-R CAFS
0.22 s on this machine). Baselines measured in the same run: a bare `python -c pass`, and
`python -c "import numpy, pandas, scipy.stats"` (what every command used to import first).
Median of several runs; also prints which heavy modules each command imports.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).parents[1]
FEV = ROOT / "tests" / "data" / "fev_data.csv"
GOAL_S = 0.6
HEAVY = ("pandas", "scipy.stats", "scipy.optimize", "sqlalchemy", "statsmodels", "lifelines", "matplotlib", "fastapi")


def cafs_csv(path: Path, n: int = 1000) -> None:
    rng = np.random.default_rng(0)
    pd.DataFrame(
        {
            "arm": rng.integers(0, 2, n),
            "t": rng.uniform(1, 12, n).round(1),
            "d": rng.integers(0, 2, n),
            "c": rng.normal(-6, 4, n).round(),
        }
    ).to_csv(path, index=False)


def timed(argv: list[str], repeats: int) -> float:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def heavy_imports(args: list[str]) -> list[str]:
    """Heavy top-level packages a command imports (run in-process under -X importtime)."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "alstrial", *args], capture_output=True, text=True, check=True
    )
    names = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines() if "|" in line}
    return [h for h in HEAVY if h in names]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        cafs_path = Path(tmp) / "cafs.csv"
        cafs_csv(cafs_path)
        commands = {
            "alstrial --help": ["--help"],
            "alstrial stats mmrm (fev_data)": [
                "stats",
                "mmrm",
                "--data",
                str(FEV),
                "--response",
                "FEV1",
                "--subject",
                "USUBJID",
                "--visit",
                "AVISIT",
                "--fixed",
                "RACE + SEX + ARMCD*AVISIT",
            ],
            "alstrial stats cafs (1,000)": [
                "stats",
                "cafs",
                "--data",
                str(cafs_path),
                "--arm",
                "arm",
                "--time",
                "t",
                "--event",
                "d",
                "--change",
                "c",
            ],
        }
        bare = timed([py, "-c", "pass"], args.repeats)
        libs = timed([py, "-c", "import numpy, pandas, scipy.stats"], args.repeats)
        print(f"baseline: python start {bare:.2f} s; python + import numpy, pandas, scipy.stats {libs:.2f} s")
        for label, cmd in commands.items():
            t = timed([py, "-m", "alstrial", *cmd], args.repeats)
            goal = f"goal < {GOAL_S} s, ratio {t / GOAL_S:.2f}" if "stats" in label else "no goal"
            print(f"{label:34s} {t:5.2f} s   ({goal}; {t - bare:.2f} s above bare python)")
            print(f"{'':34s} heavy imports: {', '.join(heavy_imports(cmd)) or 'none'}")


if __name__ == "__main__":
    main()

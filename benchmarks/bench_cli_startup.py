"""Whole-process time of small `alstrial stats` commands: start-up (imports) dominates.

Goal (issue 13): `alstrial stats mmrm` on fev_data and `alstrial stats cafs` on 1,000
participants in under 0.6 s as whole processes (R's `Rscript` nlme fit 0.50 s, base-R CAFS
0.22 s on this machine). Baselines measured in the same run: a bare `python -c pass`,
`python -c "import numpy, scipy.special"`, the libraries the two commands need on a plain CSV
file (read without pandas: alstrial.stats.table_csv), and the same with pandas, which they
imported until session 6.

Each figure is the median of several runs: wall time beside the goal, and the process' CPU time
(user + system), which a busy machine distorts less. `--baseline-src DIR` also times another
tree's `src` (e.g. `git archive MERGE_BASE src | tar -x -C DIR`) with the same interpreter and
libraries, runs interleaved, so old and new are compared in one run.

Bytecode: by default alstrial's modules run from bytecode cached in a temporary
PYTHONPYCACHEPREFIX, as from an installed package (one warm-up run per command fills it).
`--no-bytecode` compiles alstrial's own sources on every run, as a checkout with
PYTHONDONTWRITEBYTECODE=1 does (this benchmark's method until session 5).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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
HEAVY = (
    "pandas",
    "scipy.special",
    "scipy.linalg",
    "scipy.stats",
    "scipy.optimize",
    "pydantic",
    "rich",
    "sqlalchemy",
    "statsmodels",
    "lifelines",
    "matplotlib",
    "fastapi",
)


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


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def timed(variants: dict[str, tuple[list[str], dict[str, str]]], repeats: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) of each variant, runs interleaved so load changes hit all alike."""
    runs: dict[str, list[tuple[float, float]]] = {label: [] for label in variants}
    for _ in range(repeats):
        for label, (argv, env) in variants.items():
            runs[label].append(run_once(argv, env))
    return {
        label: (float(np.median([w for w, _ in r])), float(np.median([c for _, c in r]))) for label, r in runs.items()
    }


MODULES = (
    "import json, runpy, sys\nsys.argv = ['alstrial', *json.loads(sys.argv[1])]\n"
    "try:\n    runpy.run_module('alstrial', run_name='__main__')\nexcept SystemExit:\n    pass\n"
    "print(json.dumps(sorted(sys.modules)), file=sys.stderr)"
)


def heavy_imports(args: list[str], env: dict[str, str]) -> list[str]:
    """Heavy packages a command imports (its process' sys.modules at exit)."""
    out = subprocess.run(
        [sys.executable, "-c", MODULES, json.dumps(args)], capture_output=True, text=True, check=True, env=env
    )
    names = set(json.loads(out.stderr.splitlines()[-1]))
    return [h for h in HEAVY if h in names]


def environments(bytecode: bool, baseline_src: Path | None, cache: Path) -> dict[str, dict[str, str]]:
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
    base |= {"PYTHONPYCACHEPREFIX": str(cache)} if bytecode else {"PYTHONDONTWRITEBYTECODE": "1"}
    envs = {"this tree": base}
    if baseline_src is not None:
        envs["baseline"] = base | {"PYTHONPATH": str(baseline_src.resolve())}
    return envs


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--baseline-src", type=Path, help="another tree's src directory to time beside this one")
    ap.add_argument("--no-bytecode", action="store_true", help="compile alstrial's sources on every run")
    args = ap.parse_args(argv)
    if args.baseline_src is not None and not (args.baseline_src / "alstrial" / "cli.py").is_file():
        ap.error(f"--baseline-src {args.baseline_src}: no alstrial/cli.py there")
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        cafs_path = Path(tmp) / "cafs.csv"
        cafs_csv(cafs_path)
        envs = environments(not args.no_bytecode, args.baseline_src, Path(tmp) / "pycache")
        mmrm = ["stats", "mmrm", "--data", str(FEV), "--response", "FEV1", "--subject", "USUBJID"]
        mmrm += ["--visit", "AVISIT", "--fixed", "RACE + SEX + ARMCD*AVISIT"]
        cafs = ["stats", "cafs", "--data", str(cafs_path), "--arm", "arm", "--time", "t", "--event", "d"]
        commands = {
            "alstrial --help": ["--help"],
            "alstrial stats mmrm (fev_data)": mmrm,
            "alstrial stats cafs (1,000)": [*cafs, "--change", "c"],
        }
        env0 = envs["this tree"]
        libs = "import numpy, scipy.special"  # what the two commands need on a plain CSV file
        with_pandas = "import numpy, pandas, scipy.special"  # what they needed until session 6
        for warm in ([py, "-c", with_pandas], *([py, "-m", "alstrial", *c] for c in commands.values())):
            for env in envs.values():
                subprocess.run(warm, check=True, capture_output=True, env=env)  # fill the bytecode cache
        base = timed(
            {
                "bare": ([py, "-c", "pass"], env0),
                "libs": ([py, "-c", libs], env0),
                "pandas": ([py, "-c", with_pandas], env0),
            },
            args.repeats,
        )
        mode = "alstrial from cached bytecode" if not args.no_bytecode else "alstrial compiled on every run"
        print(f"{mode}; median of {args.repeats}; wall (CPU) seconds")
        print(f"baseline: python start {base['bare'][0]:.2f} ({base['bare'][1]:.2f}); ", end="")
        print(f"python + {libs} {base['libs'][0]:.2f} ({base['libs'][1]:.2f}); ", end="")
        print(f"+ pandas {base['pandas'][0]:.2f} ({base['pandas'][1]:.2f})")
        for label, cmd in commands.items():
            result = timed({tree: ([py, "-m", "alstrial", *cmd], env) for tree, env in envs.items()}, args.repeats)
            for tree, (wall, cpu) in result.items():
                goal = f"goal < {GOAL_S} s: ratio {wall / GOAL_S:.2f}" if "stats" in label else "no goal"
                print(f"{label:31s} {tree:9s} {wall:5.2f} s ({cpu:.2f} CPU)  {goal}")
            for tree, env in envs.items():
                print(f"{'':31s} {tree:9s} heavy imports: {', '.join(heavy_imports(cmd, env)) or 'none'}")


if __name__ == "__main__":
    main()

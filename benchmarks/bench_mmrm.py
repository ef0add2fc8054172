"""MMRM speed: fev_data main model and 1,000 subjects × 10 visits unstructured (55 parameters).

Targets (peer timings published by openpharma/mmrm): fev_data < 50 ms (openpharma/mmrm median 56 ms) and the large
model < 1 s (mmrm 3.4 s, SAS GLIMMIX 36 s). nlme::gls is timed in the same run when Rscript exists.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from alstrial.stats.mmrm import fit_mmrm

ROOT = Path(__file__).parents[1]
FEV = ROOT / "tests" / "data" / "fev_data.csv"


def simulate(n_subjects: int, n_visits: int, seed: int = 1, dropout: float = 0.04) -> pd.DataFrame:
    """Two arms, AR-like correlation with heterogeneous variances, monotone dropout."""
    rng = np.random.default_rng(seed)
    lag = np.abs(np.subtract.outer(np.arange(n_visits), np.arange(n_visits)))
    sd = np.linspace(2.0, 4.0, n_visits)
    sigma = 0.6**lag * np.outer(sd, sd)
    arm = rng.integers(0, 2, n_subjects)
    mean = 30 - 0.8 * np.arange(n_visits)[None, :] + 0.3 * arm[:, None] * np.arange(n_visits)[None, :]
    y = mean + rng.multivariate_normal(np.zeros(n_visits), sigma, n_subjects)
    drop = rng.geometric(dropout, n_subjects)  # first missing visit
    rows = []
    for i in range(n_subjects):
        for v in range(n_visits):
            rows.append((f"S{i}", f"V{v + 1}", "TRT" if arm[i] else "PBO", y[i, v] if v < drop[i] else np.nan))
    return pd.DataFrame(rows, columns=["USUBJID", "AVISIT", "ARMCD", "Y"])


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


R_SCRIPT = r"""
suppressMessages(library(nlme))
d <- read.csv("{path}")
d <- d[!is.na(d${resp}), ]
d${visit} <- factor(d${visit}, levels = {levels})
t <- system.time(for (i in 1:{reps}) gls({resp} ~ {rhs}, data = d,
  correlation = corSymm(form = ~ as.integer({visit}) | USUBJID),
  weights = varIdent(form = ~ 1 | {visit}), method = "REML"))
cat(t[["elapsed"]] / {reps}, "\n")
"""


def nlme_time(path: Path, resp: str, rhs: str, visit: str, levels: list[str], reps: int) -> float | None:
    if shutil.which("Rscript") is None:
        return None
    code = R_SCRIPT.format(
        path=path, resp=resp, rhs=rhs, visit=visit, reps=reps, levels="c(" + ",".join(f'"{v}"' for v in levels) + ")"
    )
    try:
        out = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, timeout=1800, check=True)
        return float(out.stdout.strip().split()[-1])
    except (subprocess.SubprocessError, ValueError):
        return None


def main() -> None:
    warnings.simplefilter("error")
    fev = pd.read_csv(FEV)
    kw = {"response": "FEV1", "subject": "USUBJID", "visit": "AVISIT", "fixed": "RACE + SEX + ARMCD*AVISIT"}
    fit_mmrm(fev, **kw)  # warm-up (imports, caches)
    t_fev = best_of(lambda: fit_mmrm(fev, **kw), 15)
    r_fev = nlme_time(FEV, "FEV1", "RACE + SEX + ARMCD*AVISIT", "AVISIT", [f"VIS{i}" for i in range(1, 5)], 3)
    print("fev_data main model (US, REML, Satterthwaite df)")
    print(f"  alstrial {1000 * t_fev:8.1f} ms   target < 50 ms (mmrm 56 ms)   ratio to target {t_fev / 0.050:.2f}")
    if r_fev is not None:
        print(f"  nlme::gls {1000 * r_fev:7.1f} ms   speed-up {r_fev / t_fev:.1f}x (same machine, same run)")

    big = simulate(1000, 10)
    bkw = {"response": "Y", "subject": "USUBJID", "visit": "AVISIT", "fixed": "ARMCD*AVISIT"}
    t_big = best_of(lambda: fit_mmrm(big, **bkw), 3)
    fit = fit_mmrm(big, **bkw)
    print("1,000 subjects x 10 visits, US (55 covariance parameters), REML, Satterthwaite")
    print(
        f"  alstrial {t_big:8.3f} s    target < 1 s (mmrm 3.4 s, SAS 36 s)   ratio to target {t_big / 1.0:.2f}"
        f"   converged={fit.converged} n_obs={fit.n_observations}"
    )
    if shutil.which("Rscript") is not None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "big.csv"
            big.to_csv(path, index=False)
            r_big = nlme_time(path, "Y", "ARMCD*AVISIT", "AVISIT", [f"V{i}" for i in range(1, 11)], 1)
        if r_big is not None:
            print(f"  nlme::gls {r_big:7.3f} s    speed-up {r_big / t_big:.1f}x")

    print("memory (peak traced allocations during a fit)")
    for n in (250, 500, 1000, 2000):
        data = simulate(n, 10, seed=n)
        tracemalloc.start()
        fit_mmrm(data, **bkw)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"  {n:5d} subjects: {peak / 2**20:7.1f} MiB  ({peak / n / 1024:.1f} KiB per subject)")


if __name__ == "__main__":
    main()

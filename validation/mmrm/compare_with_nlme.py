"""Generate seeded datasets with dropout, fit them with nlme::gls (fit_nlme.R) and with alstrial's
MMRM, and assert agreement. Raw R outputs are kept in outputs/ so tests can cite them without R.

Usage: python validation/mmrm/compare_with_nlme.py [--no-r]   (--no-r compares stored outputs)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from alstrial.stats.mmrm import fit_mmrm

HERE = Path(__file__).parent
OUT = HERE / "outputs"
DATASETS = {"small4": (60, 4, 11), "mid6": (150, 6, 12), "large8": (300, 8, 13)}


def simulate(n_subjects: int, n_visits: int, seed: int) -> pd.DataFrame:
    """Two arms, a baseline covariate, heterogeneous AR-like errors and MAR-ish dropout."""
    rng = np.random.default_rng(seed)
    lag = np.abs(np.subtract.outer(np.arange(n_visits), np.arange(n_visits)))
    sd = np.linspace(3.0, 6.0, n_visits)
    sigma = (0.3 + 0.6 * 0.7**lag) * np.outer(sd, sd) / 1.0
    np.fill_diagonal(sigma, sd**2)
    arm = rng.integers(0, 2, n_subjects)
    base = rng.normal(40, 5, n_subjects)
    t = np.arange(n_visits)
    mean = 5 + 0.5 * base[:, None] - 1.0 * t[None, :] + 0.4 * arm[:, None] * t[None, :]
    y = mean + rng.multivariate_normal(np.zeros(n_visits), sigma, n_subjects)
    rows = []
    for i in range(n_subjects):
        dropped = False
        for v in range(n_visits):
            if v > 0 and not dropped:
                dropped = rng.random() < 0.08 + 0.02 * (y[i, v - 1] < mean[i, v - 1])
            missing = dropped or (v > 0 and rng.random() < 0.03)
            rows.append((f"S{i + 1}", f"V{v + 1}", "TRT" if arm[i] else "PBO", base[i], np.nan if missing else y[i, v]))
    return pd.DataFrame(rows, columns=["SUBJ", "VISIT", "ARM", "BASE", "Y"])


def compare(name: str, verbose: bool = True) -> list[str]:
    data = pd.read_csv(OUT / f"data_{name}.csv")
    ref = pd.read_csv(OUT / f"nlme_{name}.csv")
    problems: list[str] = []
    for cov in ("us", "ar1", "cs"):
        fit = fit_mmrm(data, response="Y", subject="SUBJ", visit="VISIT", fixed="ARM*VISIT + BASE", cov=cov)  # type: ignore[arg-type]
        r = ref[ref["cov"] == cov]
        m2ll = float(r.loc[r["kind"] == "m2loglik", "estimate"].iloc[0])
        coefs = r[r["kind"] == "coef"].set_index("name")
        ours = fit.summary
        d_ll = fit.minus2_log_likelihood - m2ll
        d_est = max(abs(ours.loc[t, "estimate"] - coefs.loc[t, "estimate"]) for t in coefs.index)
        d_se = max(abs(ours.loc[t, "std_error"] - coefs.loc[t, "std_error"]) for t in coefs.index)
        sig = r[r["kind"] == "sigma"]
        m = int(np.sqrt(len(sig)))
        rsig = sig["estimate"].to_numpy().reshape(m, m)
        d_sig = float(np.max(np.abs(fit.covariance.to_numpy() - rsig) / np.abs(rsig).max()))
        if verbose:
            print(
                f"{name:7s} {cov:4s} -2LL ours {fit.minus2_log_likelihood:.6f} nlme {m2ll:.6f} "
                f"(diff {d_ll:+.2e})  max|Δβ| {d_est:.1e}  max|ΔSE| {d_se:.1e}  max rel|ΔΣ| {d_sig:.1e}"
            )
        # our optimum may be (slightly) better than nlme's, never worse
        if d_ll > 1e-4:
            problems.append(f"{name}/{cov}: -2LL worse than nlme by {d_ll:.3g}")
        if d_est > 2e-3 or d_se > 2e-3 or d_sig > 2e-3:
            problems.append(f"{name}/{cov}: estimates differ (β {d_est:.2g}, SE {d_se:.2g}, Σ {d_sig:.2g})")
    return problems


def main() -> int:
    OUT.mkdir(exist_ok=True)
    use_r = "--no-r" not in sys.argv and shutil.which("Rscript") is not None
    if use_r:
        for name, (n, m, seed) in DATASETS.items():
            simulate(n, m, seed).to_csv(OUT / f"data_{name}.csv", index=False)
        log = subprocess.run(
            ["Rscript", str(HERE / "fit_nlme.R"), str(OUT)], capture_output=True, text=True, check=True
        )
        (OUT / "nlme_session.txt").write_text(log.stdout + log.stderr)
    problems = [p for name in DATASETS for p in compare(name)]
    for p in problems:
        print("MISMATCH", p)
    print("all agree" if not problems else f"{len(problems)} mismatch(es)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())

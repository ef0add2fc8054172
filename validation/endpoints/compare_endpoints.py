"""Re-fit the endpoint datasets with R (endpoints.R, when R is present) and print how closely the
responder, random-slope and biomarker engines agree with glm / nlme::lme / lm.

Usage (from the repository root): python validation/endpoints/compare_endpoints.py [--no-r] [--regenerate]
``--regenerate`` rewrites the seeded CSVs first (make_data.py); ``--no-r`` uses the stored outputs/.
tests/stats/test_endpoints_r.py asserts the same comparisons (tolerances explained there).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from alstrial.stats.biomarkers import biomarker_ancova
from alstrial.stats.responder import responder_analysis
from alstrial.stats.slope_model import random_slope_model

HERE = Path(__file__).parent
OUT = HERE / "outputs"
COVARIATES = ["baseline_alsfrs", "onset_months", "onset_site", "riluzole", "pre_slope"]


def _d(a: object, b: object) -> float:
    return float(np.max(np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float))))


def compare() -> list[tuple[str, float, float]]:
    """Rows of (what, max |difference|, tolerance used by the tests)."""
    rows: list[tuple[str, float, float]] = []
    ref = pd.read_csv(OUT / "responder_glm.csv")
    data = pd.read_csv(HERE / "responder_data.csv")
    for model, covs, missing in [
        ("unadjusted", [], "exclude"),
        ("adjusted", COVARIATES, "exclude"),
        ("adjusted_nonresponder", COVARIATES, "nonresponder"),
    ]:
        r = ref[ref["model"] == model]
        s = responder_analysis(
            data,
            arm="arm",
            pre_slope="pre_slope",
            post_slope="post_slope",
            covariates=covs,
            reference="PBO",
            missing=missing,  # type: ignore[arg-type]
        ).summary
        rows.append((f"responder {model}: coef", _d(s["estimate"], r["estimate"]), 1e-6))
        rows.append((f"responder {model}: SE", _d(s["std_error"], r["std_error"]), 1e-6))
        rows.append(
            (f"responder {model}: OR Wald CI", _d(s[["ci_lower", "ci_upper"]], r[["or_lower", "or_upper"]]), 1e-6)
        )
        rows.append((f"responder {model}: p", _d(s["p_value"], r["p"]), 1e-6))
    ref = pd.read_csv(OUT / "slope_lme.csv")
    for name in ("slope_data", "slope_small"):
        r = ref[ref["dataset"] == name]
        fit = random_slope_model(
            pd.read_csv(HERE / f"{name}.csv"),
            subject="subject",
            time="month",
            score="score",
            arm="arm",
            reference="PBO",
        )
        fixed = r[r["kind"] == "fixed"]
        g = fit.random_effects_cov.to_numpy()
        rows.append((f"lme {name}: fixed effects", _d(fit.summary["estimate"], fixed["estimate"]), 1e-6))
        rows.append((f"lme {name}: SE", _d(fit.summary["std_error"], fixed["std_error"]), 1e-6))
        rows.append((f"lme {name}: G", _d([g[0, 0], g[0, 1], g[1, 1]], r[r["kind"] == "G"]["estimate"]), 1e-5))
        rows.append(
            (f"lme {name}: sigma^2", _d(fit.residual_variance, r[r["kind"] == "residual_variance"]["estimate"]), 1e-6)
        )
        rows.append(
            (f"lme {name}: REML logLik", _d(fit.reml_log_likelihood, r[r["kind"] == "reml_loglik"]["estimate"]), 1e-6)
        )
    ref = pd.read_csv(OUT / "biomarker_lm.csv")
    bio = pd.read_csv(HERE / "biomarker_data.csv", dtype={"nfl_base": str, "nfl_post": str})
    for rule, formula in ref[["rule", "model"]].drop_duplicates().itertuples(index=False):
        r = ref[(ref["rule"] == rule) & (ref["model"] == formula)]
        res = biomarker_ancova(
            bio,
            arm="arm",
            baseline="nfl_base",
            post="nfl_post",
            covariates=["site"] if "site" in formula else [],
            lloq=5.0,
            lloq_rule=rule,
            reference="PBO",
        )
        arm = r[r["term"] == "armMSC"].iloc[0]
        rows.append(
            (
                f"lm {rule} {formula}: coef/SE",
                _d(res.summary[["estimate", "std_error"]], r[["estimate", "std_error"]]),
                1e-6,
            )
        )
        ours = [res.ratio, res.ci_lower, res.ci_upper]
        rows.append((f"lm {rule} {formula}: GMR and CI", _d(ours, arm[["ratio", "ratio_lower", "ratio_upper"]]), 1e-6))
    return rows


def main() -> int:
    if "--regenerate" in sys.argv:
        subprocess.run([sys.executable, str(HERE / "make_data.py")], check=True)
    if "--no-r" not in sys.argv and shutil.which("Rscript"):
        subprocess.run(["Rscript", str(HERE / "endpoints.R"), str(HERE)], check=True)
    rows = compare()
    for what, d, tol in rows:
        print(f"{d:9.1e}  {'ok ' if d <= tol else 'BAD'} (tol {tol:.0e})  {what}")
    bad = [w for w, d, tol in rows if not d <= tol]
    print("all agree" if not bad else f"{len(bad)} comparison(s) beyond tolerance")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())

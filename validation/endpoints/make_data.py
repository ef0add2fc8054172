"""Write the seeded datasets that validation/endpoints/endpoints.R fits (and the tests re-fit).

Usage (from the repository root): python validation/endpoints/make_data.py
Writes responder_data.csv, slope_data.csv, slope_small.csv and biomarker_data.csv next to this file.
The files are committed; regenerate only on purpose (then re-run endpoints.R).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
DAYS_PER_MONTH = 30.4375


def responder_data(n: int = 189, seed: int = 20240501) -> pd.DataFrame:
    """One row per participant: arm, published covariates, pre/post slopes (points/month), ~12% missing post."""
    rng = np.random.default_rng(seed)
    arm = np.where(np.arange(n) % 2 == 0, "PBO", "MSC")
    rng.shuffle(arm)
    baseline = np.round(rng.normal(36, 5, n)).clip(20, 47)
    onset_months = np.round(rng.uniform(6, 24, n), 1)
    site = rng.choice(["bulbar", "limb"], n, p=[0.25, 0.75])
    riluzole = rng.choice(["no", "yes"], n, p=[0.3, 0.7])
    pre = np.round(-(48 - baseline) / onset_months + rng.normal(0, 0.3, n), 3)
    lin = -1.2 + 0.8 * (arm == "MSC") + 0.03 * (baseline - 36) - 0.4 * (site == "bulbar") + 0.2 * (riluzole == "yes")
    # post − pre ≥ 1.25 with probability expit(lin): draw the event, then a slope consistent with it
    respond = rng.random(n) < 1 / (1 + np.exp(-lin))
    change = np.where(respond, rng.uniform(1.25, 3.0, n), rng.uniform(-1.5, 1.2, n))
    post = np.round(pre + change, 3)
    post[rng.random(n) < 0.12] = np.nan
    return pd.DataFrame(
        {
            "subject": [f"R{i + 1:03d}" for i in range(n)],
            "arm": arm,
            "baseline_alsfrs": baseline,
            "onset_months": onset_months,
            "onset_site": site,
            "riluzole": riluzole,
            "pre_slope": pre,
            "post_slope": post,
        }
    )


def slope_data(n: int, seed: int, effect: float = 0.35, visits: int = 13) -> pd.DataFrame:
    """Monthly ALSFRS-R-like scores with correlated random intercept/slope, jittered visit days and
    informative-ish dropout (faster decliners leave earlier); time in months from baseline."""
    rng = np.random.default_rng(seed)
    g = np.array([[16.0, -0.6], [-0.6, 0.25]])
    rows = []
    for i in range(n):
        a = "MSC" if i % 2 else "PBO"
        b0, b1 = rng.multivariate_normal([38.0, -1.0 + effect * (a == "MSC")], g)
        hazard = 0.02 + 0.03 * (b1 < -1.2)
        for v in range(visits):
            day = 0 if v == 0 else v * DAYS_PER_MONTH + rng.integers(-7, 8)
            t = day / DAYS_PER_MONTH
            rows.append((f"S{i + 1:03d}", a, round(t, 6), round(b0 + b1 * t + rng.normal(0, 1.6), 4)))
            if v > 0 and rng.random() < hazard:
                break
    return pd.DataFrame(rows, columns=["subject", "arm", "month", "score"])


def biomarker_data(n: int = 160, seed: int = 77, lloq: float = 5.0) -> pd.DataFrame:
    """CSF NfL-like lognormal values; some below LLOQ, written as numbers < LLOQ or as '<LLOQ' text."""
    rng = np.random.default_rng(seed)
    arm = np.where(rng.random(n) < 0.5, "PBO", "MSC")
    log_base = rng.normal(np.log(12), 0.8, n)
    log_post = 0.3 + 0.85 * log_base - 0.25 * (arm == "MSC") + rng.normal(0, 0.45, n)
    site = rng.choice(["A", "B", "C"], n)

    def fmt(x: np.ndarray) -> list[str]:
        out = []
        for v in np.exp(x):
            if v < lloq:
                out.append("<LLOQ" if rng.random() < 0.5 else f"{v:.3f}")
            else:
                out.append(f"{v:.3f}")
        return out

    base = fmt(log_base)
    post = fmt(log_post)
    post = [p if rng.random() > 0.06 else "" for p in post]  # missing follow-up
    return pd.DataFrame(
        {"subject": [f"B{i + 1:03d}" for i in range(n)], "arm": arm, "site": site, "nfl_base": base, "nfl_post": post}
    )


def main() -> None:
    responder_data().to_csv(HERE / "responder_data.csv", index=False)
    slope_data(189, 5).to_csv(HERE / "slope_data.csv", index=False)
    slope_data(40, 6, visits=7).to_csv(HERE / "slope_small.csv", index=False)
    biomarker_data().to_csv(HERE / "biomarker_data.csv", index=False)
    print("wrote responder_data.csv slope_data.csv slope_small.csv biomarker_data.csv to", HERE)


if __name__ == "__main__":
    main()

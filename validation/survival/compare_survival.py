"""Re-run survival.R (when R is present) and print how closely alstrial's survival engine agrees.

Usage (from the repository root): python validation/survival/compare_survival.py [--no-r]
``--no-r`` compares against the stored outputs/ only. Exit status 1 when a difference exceeds 1e-6.
tests/stats/test_survival_r.py asserts the same comparisons without R.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from alstrial.stats.survival import survival_analysis

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
OUT = HERE / "outputs"
DATA = ROOT / "tests" / "data"
COLUMNS = {"lung": ("time", "status"), "ovarian": ("futime", "fustat")}
TOL = 1e-6


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(OUT / name, keep_default_na=False, na_values=["NA"], dtype={"group": str, "strata": str})


def _label(group: object) -> str:
    return "all" if group == "all" else str(int(group))  # type: ignore[call-overload]


def _maxdiff(a: object, b: object) -> float:
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or not np.array_equal(np.isnan(x), np.isnan(y)):
        return float("inf")
    d = np.abs(x - y)[~np.isnan(x)]
    return float(d.max()) if d.size else 0.0


def compare() -> list[tuple[str, float]]:
    data = {name: pd.read_csv(DATA / f"{name}.csv") for name in COLUMNS}
    rows: list[tuple[str, float]] = []
    km, med = _read("km.csv"), _read("km_medians.csv")
    for (ds, by), ref in km.groupby(["dataset", "by"]):
        t, e = COLUMNS[str(ds)]
        res = survival_analysis(data[str(ds)], time=t, event=e, group=None if by == "all" else str(by))
        for c in res.km:
            r = ref[ref["group"] == _label(c.group)]
            m = med[(med["dataset"] == ds) & (med["by"] == by) & (med["group"] == _label(c.group))]
            d = max(
                _maxdiff(c.table[a], r[b])
                for a, b in [
                    ("survival", "surv"),
                    ("std_error", "std_err"),
                    ("ci_lower", "lower"),
                    ("ci_upper", "upper"),
                ]
            )
            rows.append((f"KM {ds} by {by} = {c.group}: S, SE, CI", d))
            ours = [c.median, c.median_ci_lower, c.median_ci_upper]
            rows.append(
                (f"KM {ds} by {by} = {c.group}: median and CI", _maxdiff(ours, m[["median", "lcl", "ucl"]].iloc[0]))
            )
    for (ds, by, st), ref in _read("logrank.csv").groupby(["dataset", "by", "strata"]):
        t, e = COLUMNS[str(ds)]
        lr = survival_analysis(data[str(ds)], time=t, event=e, group=str(by), strata=str(st) or None).logrank
        assert lr is not None
        d = max(_maxdiff(lr.chisq, ref["chisq"].iloc[0]), _maxdiff(lr.table["expected"], ref["expected"]))
        rows.append((f"log-rank {ds} by {by}" + (f" strata {st}" if st else "") + ": chisq, expected", d))
    specs = {
        "sex+age": (None, ["sex", "age"], None),
        "sex+age+ph.ecog": (None, ["sex", "age", "ph.ecog"], None),
        "sex+age|strata(ph.ecog)": (None, ["sex", "age"], "ph.ecog"),
        "rx+age": ("rx", ["age"], None),
        "rx+age+ecog.ps": ("rx", ["age", "ecog.ps"], None),
    }
    for (ds, model, ties), ref in _read("cox.csv").groupby(["dataset", "model", "ties"], sort=False):
        t, e = COLUMNS[str(ds)]
        group, covs, strata = specs[str(model)]
        cox = survival_analysis(
            data[str(ds)],
            time=t,
            event=e,
            group=group,
            covariates=covs,
            ties="breslow" if ties == "breslow" else "efron",
            strata=strata,
        ).cox
        assert cox is not None
        d = max(
            _maxdiff(cox.summary["estimate"], ref["coef"]),
            _maxdiff(cox.summary["std_error"], ref["se"]),
            _maxdiff([cox.loglik_null, cox.loglik], [ref["loglik_null"].iloc[0], ref["loglik"].iloc[0]]),
        )
        rows.append((f"Cox {ds} {model} {ties}: coef, SE, loglik", d))
    return rows


def main() -> int:
    if "--no-r" not in sys.argv and shutil.which("Rscript"):
        subprocess.run(["Rscript", str(HERE / "survival.R"), str(DATA), str(OUT)], check=True)
    rows = compare()
    for what, d in rows:
        print(f"{d:9.1e}  {'ok ' if d <= TOL else 'BAD'}  {what}")
    bad = [w for w, d in rows if not d <= TOL]
    print("all agree within 1e-6" if not bad else f"{len(bad)} comparison(s) beyond 1e-6")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())

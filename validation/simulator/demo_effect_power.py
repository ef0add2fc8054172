"""Power of the demo's default treatment effect over many simulated trials (issue 10).

The default effect (``[simulation.treatment]``) should make the demo look like the published
trial: a modest, non-significant overall effect that is larger with less advanced disease. This
script checks that the effect exists (power well above the 5 % of no effect) without being large:
it simulates ``R`` trials of 189 on the fast path and analyses each with the primary responder
logistic regression (post - pre slope >= 1.25, adjusted for baseline total, months since onset
and pre-treatment slope), an ANCOVA of the change to week 28 (a quick stand-in for the MMRM) and
the same ANCOVA in the baseline >= 35 subgroup.

    .venv/bin/python validation/simulator/demo_effect_power.py [R]
"""

from __future__ import annotations

import sys
import time

import pandas as pd
import statsmodels.formula.api as smf

from alstrial.protocol.simulation import SimulationParams
from alstrial.simulate.calibration import responder_slopes
from alstrial.simulate.cohort import simulate_cohort
from alstrial.stats.responder import responder_analysis


def one_trial(params: SimulationParams, seed: int) -> dict[str, float]:
    c = simulate_cohort(params, 189, seed=seed)
    p = c.participants.set_index("id")
    s = responder_slopes(c).join(p[["arm", "months_since_onset"]])
    r = responder_analysis(
        s.reset_index(),
        arm="arm",
        slope_change="slope_change",
        covariates=["baseline_total", "months_since_onset", "pre_slope"],
        reference="placebo",
    )
    v = c.visits
    last = v[v["day"] == c.params.visits.alsfrs_days[-1]].set_index("id")["total"]
    d = p.join(last.rename("end")).dropna(subset=["end"])
    d = d.assign(chg=d["end"] - d["baseline_total"], act=(d["arm"] == "active").astype(int))
    fit = smf.ols("chg ~ act + baseline_total", d).fit()
    high = smf.ols("chg ~ act + baseline_total", d[d["baseline_total"] >= 35]).fit()
    return {
        "p_responder": r.p_value,
        "odds_ratio": r.odds_ratio,
        "p_change": float(fit.pvalues["act"]),
        "change_difference": float(fit.params["act"]),
        "p_change_35": float(high.pvalues["act"]),
        "change_difference_35": float(high.params["act"]),
    }


def main(argv: list[str]) -> None:
    trials = int(argv[1]) if len(argv) > 1 else 200
    params = SimulationParams()
    start = time.perf_counter()
    df = pd.DataFrame([one_trial(params, 10_000 + k) for k in range(trials)])
    print(f"{trials} simulated trials of 189 in {time.perf_counter() - start:.0f} s; {params.treatment.describe()}")
    power = (df["p_responder"] < 0.05).mean()
    print(f"primary responder OR: power {power:.1%}, median OR {df['odds_ratio'].median():.2f}")
    print(
        f"change to week 28 (ANCOVA): power {(df['p_change'] < 0.05).mean():.1%}, "
        f"mean difference {df['change_difference'].mean():+.2f} points"
    )
    print(
        f"change to week 28, baseline >= 35: power {(df['p_change_35'] < 0.05).mean():.1%}, "
        f"mean difference {df['change_difference_35'].mean():+.2f} points"
    )


if __name__ == "__main__":
    main(sys.argv)

"""Which design gives the most power for the budget: the comparison table behind the figure.

A design is one scenario (sample size, ratio, follow-up, run-in, enrichment, ...) analysed by
one endpoint's analysis. The budget is counted in randomized participants; the table also shows
what a design costs beyond that: participants screened per trial (enrichment and run-in raise
it) and participant-months of follow-up.
"""

from __future__ import annotations

import pandas as pd

from alstrial.design.power.run import PowerResult

DAYS_PER_MONTH = 365.25 / 12


def design_table(result: PowerResult, budget: int | None = None) -> pd.DataFrame:
    """One row per design (scenario x analysis) within ``budget`` participants, most powerful first.

    Scenarios without a simulated effect are left out (their rejection rate is type I error, not
    power). Ties in power go to the cheaper design (fewer participants, then fewer screened).
    """
    rows = []
    screened = _mean_screened(result)
    for row in result.summary.to_dict(orient="records"):
        scenario = result.study.scenarios[int(row["scenario"])]
        if row["null"] or (budget is not None and scenario.participants > budget):
            continue
        months = scenario.protocol.simulation.visits.alsfrs_days[-1] / DAYS_PER_MONTH
        rows.append(
            {
                "design": scenario.describe(),
                "analysis": row["analysis"],
                "participants": scenario.participants,
                "screened": screened.get(int(row["scenario"]), float("nan")),
                "participant_months": scenario.participants * months,
                "power": row["power"],
                "mcse": row["mcse"],
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table = table.sort_values(["power", "participants", "screened"], ascending=[False, True, True], kind="stable")
    table.insert(0, "rank", range(1, len(table) + 1))
    return table.reset_index(drop=True)


def _mean_screened(result: PowerResult) -> dict[int, float]:
    path = result.files.get("replicates.parquet")
    if path is None or not path.exists():
        return {}
    frame = pd.read_parquet(path, columns=["scenario", "replicate", "n_screened"]).drop_duplicates(
        ["scenario", "replicate"]
    )
    means = frame.groupby("scenario")["n_screened"].mean()
    return dict(zip(means.index.astype(int).tolist(), means.astype(float).tolist(), strict=True))

"""Prespecified subgroup analyses (exploratory): the treatment effect within each level of a
baseline variable, and whether it differs between levels.

Each level gets its own fit of the endpoint's model (MMRM change at the primary visit; the
responder logistic regression) for the forest plot. Whether the effect differs between two levels
is tested in one model of every participant with an arm × subgroup term, where the analysis
provides one: the MMRM change's arm × visit × subgroup contrast at the primary visit (SAS's
``LSMESTIMATE``; ``stats.endpoints_change.subgroup_interaction_mmrm``) and the responder's
arm × subgroup logistic term (``stats.responder_interaction``). The MMRM fits adjust for the
randomization stratum as the primary model does, wherever it varies (not within the baseline
>= 35 subgroup, which is the stratum itself). An analysis without one falls back
to the z-test between the separately fitted levels, z = (d₁ − d₀) / √(se₁² + se₀²) (Altman &
Bland, BMJ 2003;326:219), labelled "z-test". Subgroup results are exploratory: the published
trial's ≥ 35 subgroup finding came after a missed primary endpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from alstrial.errors import AlstrialError
from alstrial.protocol.models import Subgroup
from alstrial.stats.result import plain

_COLUMN = {
    "baseline_alsfrs_r": "BASEALS",
    "age": "AGE",
    "onset_region": "ONSETREG",
    "sex": "SEX",
    "riluzole": "RILUZFL",
}
_UNITS = {"baseline_alsfrs_r": "points", "age": "years"}

#: An analysis of one subset of participants (USUBJIDs) → dict with estimate, ci_lower, ci_upper,
#: p_value, std_error (on the scale where the interaction is tested), n.
SubsetAnalysis = Callable[[pd.Index], dict[str, Any]]
#: The interaction test of one model over every participant, given each one's level (index USUBJID)
#: → dict with estimate (effect in the second level minus the first), std_error, statistic, df, p_value.
InteractionTest = Callable[[pd.Series], dict[str, Any]]


def subgroup_levels(adsl: pd.DataFrame, subgroup: Subgroup) -> pd.Series:
    """The level label of each participant (index USUBJID); missing values stay NaN."""
    col = adsl.set_index("USUBJID")[_COLUMN[subgroup.variable]]
    if subgroup.cutpoint is not None:
        cut = subgroup.cutpoint
        values = pd.to_numeric(col, errors="coerce")
        labels = np.where(values >= cut, f"≥ {cut:g}", f"< {cut:g}")
        return pd.Series(labels, index=col.index).where(values.notna())
    if subgroup.variable == "riluzole":
        return col.map({True: "yes", False: "no"})
    return col.astype(object).where(col.notna()).map(lambda v: v if pd.isna(v) else str(v))


def threshold_subgroups(thresholds: Sequence[float]) -> list[Subgroup]:
    """The series of baseline ALSFRS-R cut points (≥ 26, 28, ...) as subgroups."""
    return [
        Subgroup(
            id=f"BASEALS{t:g}".replace(".", "_"),
            label=f"Baseline ALSFRS-R, cut at {t:g}",
            variable="baseline_alsfrs_r",
            cutpoint=t,
        )
        for t in thresholds
    ]


@dataclass(frozen=True)
class SubgroupResult:
    """Per-level estimates and interaction tests of every subgroup and analysis."""

    rows: pd.DataFrame  # analysis, subgroup, label, level, n, estimate, ci_lower, ci_upper, p_value, error
    #: analysis, subgroup, label, test ("one model" or "z-test"), estimate, std_error, statistic (t or z),
    #: df (None for z), z (the z-test's statistic, else None), p_value, error
    interactions: pd.DataFrame
    exploratory: bool = True
    settings: dict[str, Any] = field(default_factory=dict)  # e.g. the df method of the per-level MMRMs

    def to_dict(self) -> dict[str, Any]:
        return plain(
            {
                "exploratory": self.exploratory,
                "interaction_tests": {
                    "one model": "arm x subgroup term of one model fitted to every participant (t test)",
                    "z-test": "Altman-Bland z-test of the difference between separately fitted level estimates",
                },
                **self.settings,
                "rows": self.rows,
                "interactions": self.interactions,
            }
        )

    def __str__(self) -> str:
        lines = ["SubgroupResult (exploratory)"]
        for (analysis, sg), g in self.rows.groupby(["analysis", "subgroup"], sort=False):
            inter = self.interactions[
                (self.interactions["analysis"] == analysis) & (self.interactions["subgroup"] == sg)
            ]
            p = inter["p_value"].iloc[0] if len(inter) else float("nan")
            lines.append(f"  {analysis} / {sg}: interaction p = {p:.3g}")
            for _, r in g.iterrows():
                if r["estimate"] is None or pd.isna(r["estimate"]):
                    lines.append(f"    {r['level']:<8} not estimable: {r['error']}")
                    continue
                ci = f"({r['ci_lower']:.3g} to {r['ci_upper']:.3g})"
                lines.append(f"    {r['level']:<8} n={r['n']:<4} {r['estimate']:.3g} {ci}")
        return "\n".join(lines)


def run_subgroups(
    adsl: pd.DataFrame,
    subgroups: Sequence[Subgroup],
    analyses: dict[str, SubsetAnalysis],
    *,
    log_scale: Sequence[str] = (),
    settings: dict[str, Any] | None = None,
    interaction_tests: dict[str, InteractionTest] | None = None,
) -> SubgroupResult:
    """Run every analysis within every level of every subgroup, and test two-level subgroups: in one
    model where ``interaction_tests`` has the analysis, else by the z-test between the levels."""
    rows: list[dict[str, Any]] = []
    inter: list[dict[str, Any]] = []
    one_model = interaction_tests or {}
    for sg in subgroups:
        levels = subgroup_levels(adsl, sg)
        names = sorted(levels.dropna().unique(), key=str)
        for analysis, fn in analyses.items():
            fitted: list[dict[str, Any]] = []
            for level in names:
                ids = pd.Index(levels.index[levels == level])
                row: dict[str, Any] = {"analysis": analysis, "subgroup": sg.id, "label": sg.label, "level": level}
                try:
                    res = fn(ids)
                except (AlstrialError, ValueError, np.linalg.LinAlgError) as exc:
                    row.update(n=len(ids), estimate=None, ci_lower=None, ci_upper=None, p_value=None)
                    row["error"] = f"{type(exc).__name__}: {exc}"
                else:
                    row.update(res)
                    row["error"] = None
                    fitted.append(res)
                rows.append(row)
            entry: dict[str, Any] = {"analysis": analysis, "subgroup": sg.id, "label": sg.label}
            entry.update(test=None, estimate=None, std_error=None, statistic=None, df=None, z=None, p_value=None)
            if len(names) != 2:
                entry["error"] = f"{len(names)} levels; the test needs two"
            elif analysis in one_model:
                entry["test"] = "one model"
                try:
                    found = one_model[analysis](levels.dropna())
                except (AlstrialError, ValueError, np.linalg.LinAlgError) as exc:
                    entry["error"] = f"{type(exc).__name__}: {exc}"
                else:
                    entry.update({k: found[k] for k in ("estimate", "std_error", "statistic", "df", "p_value")})
                    entry["error"] = None
            elif len(fitted) != 2:
                entry["error"] = "a level could not be analysed"
            else:
                a, b = fitted
                key = "log_estimate" if analysis in log_scale else "estimate"
                diff, se = b[key] - a[key], float(np.hypot(a["std_error"], b["std_error"]))
                z = diff / se
                p_value = float(2 * sps.norm.sf(abs(z)))
                entry.update(test="z-test", estimate=diff, std_error=se, statistic=z, z=z, p_value=p_value, error=None)
            inter.append(entry)
    return SubgroupResult(rows=pd.DataFrame(rows), interactions=pd.DataFrame(inter), settings=dict(settings or {}))

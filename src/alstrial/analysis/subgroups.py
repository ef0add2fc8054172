"""Prespecified subgroup analyses (exploratory): the treatment effect within each level of a
baseline variable, and whether it differs between levels.

Each level gets its own fit of the endpoint's model (MMRM change at the primary visit; the
responder logistic regression). The treatment-by-subgroup interaction is tested from the two
level estimates, z = (d₁ − d₀) / √(se₁² + se₀²) (Altman & Bland, BMJ 2003;326:219), on the
log-odds scale for the responder odds ratio. With two levels this is the test of the
arm × subgroup term of a model fitted separately per level. Subgroup results are exploratory:
the published trial's ≥ 35 subgroup finding came after a missed primary endpoint.
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
    interactions: pd.DataFrame  # analysis, subgroup, label, z, p_value, error
    exploratory: bool = True
    settings: dict[str, Any] = field(default_factory=dict)  # e.g. the df method of the per-level MMRMs

    def to_dict(self) -> dict[str, Any]:
        return plain(
            {
                "exploratory": self.exploratory,
                "interaction_test": "Altman-Bland z-test of the difference between the level estimates",
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
) -> SubgroupResult:
    """Run every analysis within every level of every subgroup (two-level subgroups are tested)."""
    rows: list[dict[str, Any]] = []
    inter: list[dict[str, Any]] = []
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
            if len(names) != 2:
                entry.update(z=None, p_value=None, error=f"{len(names)} levels; the test needs two")
            elif len(fitted) != 2:
                entry.update(z=None, p_value=None, error="a level could not be analysed")
            else:
                a, b = fitted
                key = "log_estimate" if analysis in log_scale else "estimate"
                z = (b[key] - a[key]) / float(np.hypot(a["std_error"], b["std_error"]))
                entry.update(z=z, p_value=float(2 * sps.norm.sf(abs(z))), error=None)
            inter.append(entry)
    return SubgroupResult(rows=pd.DataFrame(rows), interactions=pd.DataFrame(inter), settings=dict(settings or {}))

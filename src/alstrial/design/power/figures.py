"""Power curves and the design comparison, as PNG files (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.patches import Patch

from alstrial.design.power.run import PowerResult

#: preferred x axis of a power curve, in order
X_PREFERENCE = ("effect", "participants", "followup", "enrich_alsfrs", "enrich_progression")
AXIS_LABELS = {
    "effect": "Treatment effect (slowing of ALSFRS-R decline, points/month)",
    "participants": "Randomized participants",
    "followup": "Follow-up to the primary visit (weeks)",
    "enrich_alsfrs": "Minimum ALSFRS-R at screening",
    "enrich_progression": "Minimum decline since onset at referral (points/month)",
}


def curve_axis(result: PowerResult) -> str | None:
    """The gridded parameter to draw power against: numeric, at least two values."""
    values: dict[str, set[Any]] = {}
    for s in result.study.scenarios:
        for k, v in s.values.items():
            values.setdefault(k, set()).add(v)
    numeric = [
        k
        for k, vs in values.items()
        if len(vs) > 1 and all(isinstance(v, int | float) and not isinstance(v, bool) for v in vs)
    ]
    ordered = [k for k in X_PREFERENCE if k in numeric] + [k for k in numeric if k not in X_PREFERENCE]
    return ordered[0] if ordered else None


def _clipped_error(frame: pd.DataFrame) -> list[list[float]]:
    """±2 MCSE error bars that stay inside [0, 1]."""
    low = (frame["power"] - (frame["power"] - 2 * frame["mcse"]).clip(lower=0)).tolist()
    high = ((frame["power"] + 2 * frame["mcse"]).clip(upper=1) - frame["power"]).tolist()
    return [low, high]


def power_curves(result: PowerResult, path: Path, target: float | None = None) -> Path:
    """Rejection rate against the first numeric grid parameter, one line per analysis and other settings."""
    summary = result.summary
    x = curve_axis(result)
    alpha = result.study.alpha
    fig, ax = plt.subplots(figsize=(8, 5))
    if x is None:
        labels = [f"{r.label}\n{r.analysis}" for r in summary.itertuples()]
        ax.barh(labels, summary["power"], xerr=_clipped_error(summary), color="tab:blue", alpha=0.8)
        ax.set_xlabel("Rejection rate (power; type I error under no effect)")
        ax.set_ylabel("Scenario and analysis")
        ax.axvline(alpha, color="grey", ls=":", label=f"alpha = {alpha:g}")
        if target:
            ax.axvline(target, color="tab:red", ls="--", label=f"target power {target:g}")
        ax.set_xlim(0, 1)
    else:
        frame = summary.assign(
            x=[result.study.scenarios[int(i)].values[x] for i in summary["scenario"]],
            rest=[
                ", ".join(f"{k}={v}" for k, v in result.study.scenarios[int(i)].values.items() if k != x)
                for i in summary["scenario"]
            ],
        )
        for (analysis, rest), g in frame.groupby(["analysis", "rest"], sort=False):
            g = g.sort_values("x")
            label = f"{analysis}" + (f" ({rest})" if rest else "")
            ax.errorbar(g["x"], g["power"], yerr=_clipped_error(g), marker="o", capsize=3, label=label)
        ax.axhline(alpha, color="grey", ls=":", label=f"alpha = {alpha:g}")
        if target:
            ax.axhline(target, color="tab:red", ls="--", label=f"target power {target:g}")
        ax.set_xlabel(AXIS_LABELS.get(x, x))
        ax.set_ylabel("Rejection rate (power; type I error at no effect)")
        ax.set_ylim(-0.02, 1.02)
    ax.set_title(
        f"Simulated power, {result.study.reps} replicates per scenario (error bars ±2 Monte Carlo SE)", fontsize=10
    )
    ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def design_figure(table: pd.DataFrame, path: Path, reps: int, budget: int | None = None) -> Path:
    """Power of each design, best first, coloured by analysis: which design to choose for the budget."""
    shown = table.head(25)
    fig, ax = plt.subplots(figsize=(9, max(3.0, 0.35 * len(shown) + 1.5)))
    colours = {a: plt.get_cmap("tab10")(i % 10) for i, a in enumerate(dict.fromkeys(shown.get("analysis", [])))}
    labels = [
        str(r["design"]) if "participants=" in str(r["design"]) else f"{r['design']}, N={r['participants']}"
        for r in shown.to_dict(orient="records")
    ]
    if len(shown):
        ax.barh(
            range(len(shown)),
            shown["power"],
            xerr=_clipped_error(shown),
            color=[colours[a] for a in shown["analysis"]],
        )
    ax.set_yticks(range(len(shown)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("Simulated power (±2 Monte Carlo SE)")
    ax.set_ylabel("Design (best first)")
    within = f" within {budget} participants" if budget else ""
    ax.set_title(f"Which design gives the most power{within}? ({reps} replicates each)", fontsize=10)
    if colours:
        handles = [Patch(color=colour, label=analysis) for analysis, colour in colours.items()]
        ax.legend(handles=handles, title="analysis", fontsize=7)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

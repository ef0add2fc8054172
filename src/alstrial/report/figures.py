"""Figures of the study report, drawn with matplotlib and embedded as inline SVG.

Inline SVG keeps the report one self-contained file that prints well and needs no JavaScript.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

ARM_COLOURS = ("#1f6fb2", "#d9822b", "#3a9d5d", "#8e44ad")
# a fixed hash salt and no date in the metadata: the same data give byte-identical SVG (and report)
plt.rcParams.update(
    {
        "svg.fonttype": "none",
        "svg.hashsalt": "alstrial",
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)


def _svg(fig: plt.Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _colour(arms: Sequence[str], arm: str) -> str:
    return ARM_COLOURS[list(arms).index(arm) % len(ARM_COLOURS)]


def mean_profile(
    data: pd.DataFrame, *, x: str, y: str, group: str, title: str, ylabel: str, xlabel: str = "Week"
) -> str:
    """Mean ± 95% CI of ``y`` by ``x`` for each group, as an SVG line chart."""
    fig, ax = plt.subplots(figsize=(6.2, 3.4))
    arms = sorted(data[group].unique())
    for k, arm in enumerate(arms):
        sub = data[data[group] == arm].groupby(x)[y].agg(["mean", "std", "count"]).reset_index()
        half = 1.96 * sub["std"].fillna(0) / np.sqrt(sub["count"].clip(lower=1))
        offset = (k - (len(arms) - 1) / 2) * 0.25
        ax.errorbar(
            sub[x] + offset,
            sub["mean"],
            yerr=half,
            marker="o",
            ms=3.5,
            capsize=2.5,
            lw=1.6,
            color=_colour(arms, arm),
            label=f"{arm} (n at start {int(sub['count'].iloc[0])})",
        )
    ax.axhline(0, color="#999", lw=0.8, ls=":")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(frameon=False, fontsize=8)
    return _svg(fig)


def forest(
    rows: Sequence[Mapping[str, float | str]], *, title: str, xlabel: str, null: float = 1.0, log: bool = False
) -> str:
    """A forest plot of estimates with CIs; each row has ``label, estimate, ci_lower, ci_upper``."""
    fig, ax = plt.subplots(figsize=(6.2, 0.55 * len(rows) + 1.0))
    for i, row in enumerate(reversed(list(rows))):
        est, lo, hi = float(row["estimate"]), float(row["ci_lower"]), float(row["ci_upper"])
        ax.plot([lo, hi], [i, i], color="#333", lw=1.4)
        ax.plot([est], [i], "s", color=ARM_COLOURS[0], ms=6)
    ax.axvline(null, color="#999", lw=0.8, ls="--")
    ax.set_yticks(range(len(rows)), [str(r["label"]) for r in reversed(list(rows))])
    if log:
        ax.set_xscale("log")
    ax.set(title=title, xlabel=xlabel)
    return _svg(fig)


def step_curves(curves: Mapping[str, pd.DataFrame], *, title: str, xlabel: str, ylabel: str) -> str:
    """Kaplan–Meier style step curves; each frame has ``time`` and ``survival`` columns."""
    fig, ax = plt.subplots(figsize=(6.2, 3.2))
    arms = sorted(curves)
    for arm in arms:
        frame = curves[arm]
        t = np.concatenate([[0.0], frame["time"].to_numpy(float)])
        s = np.concatenate([[1.0], frame["survival"].to_numpy(float)])
        ax.step(t, s, where="post", color=_colour(arms, arm), lw=1.6, label=arm)
    ax.set_ylim(0, 1.02)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(frameon=False, fontsize=8)
    return _svg(fig)


def grouped_bars(table: Mapping[str, Mapping[str, float]], *, title: str, ylabel: str) -> str:
    """Bars of ``table[series][category]`` grouped by category."""
    series = list(table)
    categories = sorted({c for s in series for c in table[s]})
    fig, ax = plt.subplots(figsize=(6.2, 3.0))
    width = 0.8 / max(1, len(series))
    for k, name in enumerate(series):
        xs = np.arange(len(categories)) + (k - (len(series) - 1) / 2) * width
        ax.bar(xs, [table[name].get(c, 0) for c in categories], width, label=name, color=ARM_COLOURS[k % 4])
    ax.set_xticks(range(len(categories)), categories)
    ax.set(title=title, ylabel=ylabel)
    ax.legend(frameon=False, fontsize=8)
    return _svg(fig)

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
    rows: Sequence[Mapping[str, float | str]],
    *,
    title: str,
    xlabel: str,
    null: float = 1.0,
    log: bool = False,
    favours: tuple[str, str] | None = None,
) -> str:
    """A forest plot of estimates with CIs; each row has ``label, estimate, ci_lower, ci_upper``
    (optionally ``note``, printed at the right, e.g. n or an interaction p)."""
    rows = list(rows)
    fig, ax = plt.subplots(figsize=(6.8, 0.32 * len(rows) + 1.3))
    for i, row in enumerate(reversed(rows)):
        est, lo, hi = float(row["estimate"]), float(row["ci_lower"]), float(row["ci_upper"])
        ax.plot([lo, hi], [i, i], color="#333", lw=1.3, label="95% CI" if i == 0 else None)
        ax.plot([est], [i], "s", color=ARM_COLOURS[0], ms=5, label="estimate" if i == 0 else None)
        if row.get("note"):
            ax.annotate(str(row["note"]), xy=(1.01, i), xycoords=("axes fraction", "data"), va="center", fontsize=7)
    ax.axvline(null, color="#999", lw=0.8, ls="--", label=f"no effect ({null:g})")
    ax.set_yticks(range(len(rows)), [str(r["label"]) for r in reversed(rows)], fontsize=7.5)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    if log:
        ax.set_xscale("log")
    if favours:
        ax.set_xlabel(f"{xlabel}\n← favours {favours[0]}    favours {favours[1]} →")
    else:
        ax.set_xlabel(xlabel)
    ax.set_title(title, pad=22)
    ax.legend(frameon=False, fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3)
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


def grouped_bars(
    table: Mapping[str, Mapping[str, float]], *, title: str, ylabel: str, xlabel: str = "Age decade, years"
) -> str:
    """Bars of ``table[series][category]`` grouped by category."""
    series = list(table)
    categories = sorted({c for s in series for c in table[s]})
    fig, ax = plt.subplots(figsize=(6.2, 3.0))
    width = 0.8 / max(1, len(series))
    for k, name in enumerate(series):
        xs = np.arange(len(categories)) + (k - (len(series) - 1) / 2) * width
        ax.bar(xs, [table[name].get(c, 0) for c in categories], width, label=name, color=ARM_COLOURS[k % 4])
    ax.set_xticks(range(len(categories)), categories)
    ax.set(title=title, ylabel=ylabel, xlabel=xlabel)
    ax.legend(frameon=False, fontsize=8)
    return _svg(fig)


def spaghetti(
    data: pd.DataFrame, *, x: str, y: str, subject: str, group: str, title: str, xlabel: str, ylabel: str
) -> str:
    """One thin line per participant (coloured by group) and each group's mean in bold."""
    groups = sorted(data[group].astype(str).unique())
    fig, ax = plt.subplots(figsize=(6.2, 3.6))
    for g in groups:
        sub = data[data[group].astype(str) == g]
        colour = _colour(groups, g)
        for _, one in sub.groupby(subject):
            one = one.sort_values(x)
            ax.plot(one[x], one[y], color=colour, lw=0.5, alpha=0.35)
        mean = sub.groupby(x)[y].mean()
        ax.plot(mean.index, mean.to_numpy(), color=colour, lw=2.4, label=f"{g}: mean (n = {sub[subject].nunique()})")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(frameon=False, fontsize=8, title="thin lines: participants", title_fontsize=7)
    return _svg(fig)


def small_multiples(
    panels: Mapping[str, pd.DataFrame],
    *,
    x: str,
    y: str,
    group: str,
    title: str,
    xlabel: str,
    ylabel: str,
    lower: str | None = None,
    upper: str | None = None,
    log: bool = False,
) -> str:
    """One panel per key (domain, analyte): a line per group, with an interval band when given."""
    names = list(panels)
    cols = 2 if len(names) > 1 else 1
    rows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(6.8, 2.5 * rows + 0.6), squeeze=False, sharex=True)
    groups = sorted({str(g) for f in panels.values() for g in f[group].unique()})
    for ax, name in zip(axes.flat, names, strict=False):
        frame = panels[name]
        for g in groups:
            sub = frame[frame[group].astype(str) == g].sort_values(x)
            if sub.empty:
                continue
            colour = _colour(groups, g)
            ax.plot(sub[x], sub[y], marker="o", ms=3, lw=1.5, color=colour, label=g)
            if lower and upper:
                ax.fill_between(sub[x], sub[lower], sub[upper], color=colour, alpha=0.15, lw=0)
        if log:
            ax.set_yscale("log")
        ax.set_title(name, fontsize=9)
        ax.set_ylabel(ylabel, fontsize=8)
    for ax in axes.flat[len(names) :]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel(xlabel)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, frameon=False, fontsize=8, loc="upper right")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _svg(fig)


def km_with_risk_table(
    curves: Mapping[str, pd.DataFrame],
    at_risk: Mapping[str, Sequence[int]],
    times: Sequence[float],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
) -> str:
    """Kaplan–Meier step curves with the numbers at risk per group printed under the time axis."""
    arms = sorted(curves)
    fig, (ax, tab) = plt.subplots(
        2, 1, figsize=(6.2, 3.4 + 0.22 * len(arms)), gridspec_kw={"height_ratios": [5, 0.6 + 0.35 * len(arms)]}
    )
    for arm in arms:
        frame = curves[arm]
        t = np.concatenate([[0.0], frame["time"].to_numpy(float)])
        s = np.concatenate([[1.0], frame["survival"].to_numpy(float)])
        ax.step(t, s, where="post", color=_colour(arms, arm), lw=1.6, label=arm)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, max(times) if len(times) else None)
    ax.set_xticks(list(times))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(frameon=False, fontsize=8, loc="lower left")
    tab.set_xlim(ax.get_xlim())
    tab.set_ylim(-0.5, len(arms) - 0.5)
    tab.axis("off")
    tab.set_title("Number at risk", fontsize=8, loc="left")
    for i, arm in enumerate(arms):
        row = len(arms) - 1 - i
        tab.annotate(arm, xy=(0, row), xycoords=("axes fraction", "data"), xytext=(-6, 0), textcoords="offset points",
                     ha="right", va="center", fontsize=8, color=_colour(arms, arm))  # fmt: skip
        for when, n in zip(times, at_risk[arm], strict=True):
            tab.text(when, row, str(n), ha="center", va="center", fontsize=8)
    fig.tight_layout()
    return _svg(fig)


def missing_pattern(grid: pd.DataFrame, *, title: str) -> str:
    """Who was seen at which visit: rows participants, columns visits (1 seen, 0 missing, NaN after an event)."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    values = grid.to_numpy(dtype=float)
    shown = np.where(np.isnan(values), 2, values)
    cmap = ListedColormap(["#d9822b", "#1f6fb2", "#eeeeee"])
    fig, ax = plt.subplots(figsize=(6.2, 3.6))
    ax.imshow(shown, aspect="auto", interpolation="nearest", cmap=cmap, vmin=0, vmax=2)
    ax.set_xticks(range(grid.shape[1]), list(grid.columns), fontsize=7)
    ax.set(title=title, xlabel="Scheduled visit", ylabel=f"Participant (n = {grid.shape[0]}, sorted by last visit)")
    ax.set_yticks([])
    ax.legend(
        handles=[
            Patch(color="#1f6fb2", label="ALSFRS-R recorded"),
            Patch(color="#d9822b", label="missing"),
            Patch(color="#eeeeee", label="after death or ventilation"),
        ],
        frameon=False,
        fontsize=7,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
    )
    return _svg(fig)


def lines(
    table: pd.DataFrame, *, x: str, y: str, group: str, title: str, xlabel: str, ylabel: str, percent: bool = False
) -> str:
    """One line per group of ``y`` against ``x`` (e.g. responder rate by threshold)."""
    groups = sorted(table[group].astype(str).unique())
    fig, ax = plt.subplots(figsize=(6.2, 3.2))
    for g in groups:
        sub = table[table[group].astype(str) == g].sort_values(x)
        ax.plot(sub[x], (100 if percent else 1) * sub[y], marker="o", ms=4, lw=1.6, color=_colour(groups, g), label=g)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(frameon=False, fontsize=8)
    return _svg(fig)


def scatter_groups(table: pd.DataFrame, *, x: str, y: str, group: str, title: str, xlabel: str, ylabel: str) -> str:
    """Points coloured by group with a least-squares line per group."""
    groups = sorted(table[group].astype(str).unique())
    fig, ax = plt.subplots(figsize=(6.2, 3.4))
    for g in groups:
        sub = table[(table[group].astype(str) == g) & table[x].notna() & table[y].notna()]
        colour = _colour(groups, g)
        ax.scatter(sub[x], sub[y], s=10, alpha=0.6, color=colour, label=f"{g} (n = {len(sub)})")
        if len(sub) >= 3 and sub[x].nunique() > 1:
            b, a = np.polyfit(sub[x].to_numpy(float), sub[y].to_numpy(float), 1)
            xs = np.linspace(sub[x].min(), sub[x].max(), 2)
            ax.plot(xs, a + b * xs, color=colour, lw=1.2)
    ax.axhline(0, color="#999", lw=0.8, ls=":")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(frameon=False, fontsize=8)
    return _svg(fig)

"""Render the study report: one self-contained HTML file (inline CSS and SVG, no scripts)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

BASELINE_ROWS: tuple[tuple[str, str, str], ...] = (
    ("Participants, n", "n", "{:d}"),
    ("Age, years, mean", "age_mean", "{:.1f}"),
    ("Age, years, SD", "age_sd", "{:.1f}"),
    ("Female, %", "female_pct", "{:.1f}"),
    ("Limb onset, %", "limb_onset_pct", "{:.1f}"),
    ("Months from onset to first dose, mean", "months_since_onset_mean", "{:.1f}"),
    ("Riluzole, %", "riluzole_pct", "{:.1f}"),
    ("ALSFRS-R at baseline, mean", "alsfrs_r_mean", "{:.1f}"),
    ("ALSFRS-R at baseline, SD", "alsfrs_r_sd", "{:.1f}"),
    ("ALSFRS-R ≤ 25, %", "alsfrs_r_le25_pct", "{:.1f}"),
    ("Pre-treatment slope, points/month, mean", "pre_slope_mean", "{:.2f}"),
    ("SVC, % predicted, mean", "svc_mean", "{:.1f}"),
)


@dataclass(frozen=True)
class Table:
    columns: Sequence[str]
    rows: Sequence[Sequence[str]]
    caption: str = ""
    css: str = ""  # "text": left-aligned cells for tables of words (e.g. the estimand table)


@dataclass(frozen=True)
class Figure:
    svg: str
    caption: str


@dataclass(frozen=True)
class Section:
    """One numbered section of the report: an endpoint or a group of related results."""

    title: str
    lead: str = ""
    tables: Sequence[Table] = field(default_factory=tuple)
    figures: Sequence[Figure] = field(default_factory=tuple)
    text: str = ""
    warnings: Sequence[str] = field(default_factory=tuple)


def fmt_p(p: float | None) -> str:
    """A p value the way a reader wants it, highlighted when below 0.05."""
    if p is None:
        return "–"
    text = "&lt;0.001" if p < 0.001 else f"{p:.3f}"
    return f'<span class="{"sig" if p < 0.05 else "ns"}">{text}</span>'


def render_report(
    *,
    trial: Mapping[str, Any],
    results: Mapping[str, Any],
    sections: Sequence[Section],
    headline: Sequence[Mapping[str, str]] = (),
    dropout_figure: str = "",
    arm_names: Mapping[str, str] | None = None,
    methods: str = "",
) -> str:
    """Fill the report template from the demo/analysis results (the same dict as results.json)."""
    env = Environment(
        loader=PackageLoader("alstrial.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    consort = results["consort"]
    return env.get_template("report.html.j2").render(
        trial=trial,
        consort=consort,
        completed_total=sum(a["completed"] for a in consort["arms"].values()),
        baseline=results["baseline"],
        baseline_rows=BASELINE_ROWS,
        dropouts=results["dropouts"],
        audit=results.get("audit", {"records": 0, "verified": False}),
        sections=sections,
        headline=headline,
        dropout_figure=dropout_figure,
        arm_names=arm_names or {},
        methods=methods,
    )

"""Assemble the study report from the analysis datasets and the analysis plan's outcomes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pandas as pd

from alstrial.analysis import summaries
from alstrial.analysis.datasets import AnalysisDatasets
from alstrial.analysis.plan import EndpointOutcome
from alstrial.protocol.models import Protocol
from alstrial.report import figures
from alstrial.report.html import Figure, Section, Table, fmt_p, render_report


def _f(x: Any, nd: int = 2) -> str:
    return "–" if x is None else f"{float(x):.{nd}f}"


def _ci(d: Mapping[str, Any], nd: int = 2) -> str:
    return f"{_f(d.get('ci_lower'), nd)} to {_f(d.get('ci_upper'), nd)}"


def _error_section(o: EndpointOutcome) -> Section:
    return Section(title=o.endpoint.name, lead=f"This endpoint could not be analysed: {o.error}")


def _responder(o: EndpointOutcome) -> Section:
    r = o.to_dict()["result"]
    rows = [[p["arm"], str(p["n"]), str(p["responders"]), f"{100 * p['proportion']:.1f}%"] for p in r["proportions"]]
    lead = (
        f"A responder improves their ALSFRS-R slope by at least {r['threshold']} points/month after treatment "
        f"(post-treatment minus pre-treatment slope). Logistic regression adjusted for "
        f"{', '.join(r['covariates'])}: odds ratio {_f(r['odds_ratio'])} (95% CI {_ci(r)}), p = {_f(r['p_value'], 3)}."
    )
    return Section(o.endpoint.name, lead, tables=[Table(["arm", "analysed", "responders", "proportion"], rows)])


def _mmrm(o: EndpointOutcome, ds: AnalysisDatasets) -> Section:
    r = o.to_dict()["result"]
    rows = [[arm, _f(v["estimate"]), _f(v["std_error"]), _ci(v)] for arm, v in r["lsmeans"].items()]
    rows.append([f"{r['treatment_arm']} − {r['reference_arm']}", _f(r["difference"]), _f(r["std_error"]), _ci(r)])
    tables = [Table(["", "LS mean change", "SE", "95% CI"], rows, caption=f"MMRM at {r['primary_visit']}")]
    sens = o.to_dict().get("sensitivity", {})
    if sens:
        srows = [["MMRM (primary, MAR by likelihood)", _f(r["difference"]), _ci(r), fmt_p(r["p_value"])]]
        labels = {"mar": "Multiple imputation, MAR", "jump_to_reference": "Multiple imputation, jump to reference"}
        for key, s in sens.items():
            srows.append([labels.get(key, key), _f(s["estimate"]), _ci(s), fmt_p(s["p_value"])])
        tables.append(Table(["analysis", "difference", "95% CI", "p"], srows, caption="Missing-data sensitivity"))
    svg = figures.mean_profile(
        ds.adqs,
        x="AVISITN",
        y="CHG",
        group="ARM",
        title="ALSFRS-R change from baseline (mean ± 95% CI)",
        ylabel="Change in ALSFRS-R total",
    )
    lead = (
        f"Difference {r['treatment_arm']} − {r['reference_arm']} at {r['primary_visit']}: {_f(r['difference'])} points "
        f"(95% CI {_ci(r)}), p = {_f(r['p_value'], 3)}; {r['n_subjects']} participants, "
        f"{r['n_observations']} observations; "
        f"unstructured covariance, {r['model']['df']} degrees of freedom."
    )
    return Section(o.endpoint.name, lead, tables, [Figure(svg, "Observed mean change from baseline by visit and arm.")])


def _cafs(o: EndpointOutcome) -> Section:
    r = o.to_dict()["result"]
    rows = [[arm, _f(rank, 1)] for arm, rank in r["mean_rank"].items()]
    lead = (
        f"Finkelstein–Schoenfeld test on pairwise comparisons (death first, then ALSFRS-R change): "
        f"z = {_f(r['z'])}, p = {_f(r['p_value'], 3)} (higher mean rank = better outcome)."
    )
    return Section(o.endpoint.name, lead, tables=[Table(["arm", "mean CAFS rank"], rows)])


def _slope(o: EndpointOutcome) -> Section:
    r = o.to_dict()["result"]
    lead = (
        f"Random intercept and slope model: difference in ALSFRS-R slope {_f(r['slope_difference'], 3)} points/month "
        f"(95% CI {_ci(r, 3)}), p = {_f(r['p_value'], 3)}; {r['n_subjects']} participants."
    )
    return Section(o.endpoint.name, lead)


def _survival(o: EndpointOutcome) -> Section:
    r = o.to_dict()["result"]
    curves = {arm: pd.DataFrame(km["table"]) for arm, km in r["km"].items() if km["table"]}
    rows = [[arm, str(km["n"]), str(km["events"])] for arm, km in r["km"].items()]
    figs = []
    if curves:
        svg = figures.step_curves(
            curves,
            title="Time to death or permanent assisted ventilation",
            xlabel="Days from first dose",
            ylabel="Event-free probability",
        )
        figs.append(Figure(svg, "Kaplan–Meier estimates by arm."))
    lr = r.get("logrank") or {}
    lead = f"Log-rank χ² = {_f(lr.get('chisq'))}, p = {_f(lr.get('p_value'), 3)}."
    return Section(o.endpoint.name, lead, tables=[Table(["arm", "n", "events"], rows)], figures=figs)


def _biomarkers(o: EndpointOutcome) -> Section:
    d = o.to_dict()
    res: dict[str, Any] = d["result"]
    corr = d.get("correlation_with_alsfrs_r_slope", {})
    rows, forest_rows = [], []
    for code, r in res.items():
        c = corr.get(code, {})
        rows.append(
            [
                code,
                str(r["n"]),
                str(r["n_below_lloq"]),
                _f(r["ratio"], 3),
                _ci(r, 3),
                fmt_p(r["p_value"]),
                _f(c.get("estimate"), 2),
            ]
        )
        if None not in (r["ratio"], r["ci_lower"], r["ci_upper"]):  # a ratio without an interval stays in the table
            forest_rows.append(
                {"label": code, "estimate": r["ratio"], "ci_lower": r["ci_lower"], "ci_upper": r["ci_upper"]}
            )
    figs = []
    if forest_rows:
        svg = figures.forest(
            forest_rows, title="CSF biomarkers: geometric-mean ratio, treatment vs control", xlabel="GMR"
        )
        figs.append(Figure(svg, "ANCOVA of log(post) on log(baseline) and arm; values below LLOQ set to LLOQ/2."))
    cols = ["analyte", "n", "below LLOQ", "GM ratio", "95% CI", "p", "Spearman ρ with ALSFRS-R slope"]
    return Section(o.endpoint.name, tables=[Table(cols, rows)], figures=figs)


def _safety(o: EndpointOutcome, arm_names: Mapping[str, str]) -> Section:
    r = o.to_dict()["result"]
    arms = list(r["safety_set"])
    cols = ["", *[f"{arm_names.get(a, a)} (n = {r['safety_set'][a]})" for a in arms]]

    def cell(count: int, arm: str) -> str:
        n = r["safety_set"][arm]
        return f"{count} ({100 * count / n:.1f}%)" if n else str(count)

    overview = [[cat, *[cell(row[a], a) for a in arms]] for cat, row in r["overview"].items()]
    terms = [[term, *[cell(row[a], a) for a in arms]] for term, row in r["by_term"].items()]
    return Section(
        o.endpoint.name,
        "Participants (not events) with at least one adverse event, over everyone who received a dose.",
        tables=[Table(cols, overview, caption="Overview"), Table(cols, terms, caption="By reported term")],
    )


def build_report(
    *,
    protocol: Protocol,
    datasets: AnalysisDatasets,
    outcomes: Sequence[EndpointOutcome],
    results: Mapping[str, Any],
    trial_info: Mapping[str, Any],
) -> str:
    """The study report as one HTML string."""
    sections: list[Section] = []
    headline: list[dict[str, str]] = []
    for o in outcomes:
        if o.error is not None:
            sections.append(_error_section(o))
            continue
        method = o.endpoint.method
        if method == "responder":
            sections.append(_responder(o))
            r = o.to_dict()["result"]
            headline.append({"k": "Primary: responder OR", "v": _f(r["odds_ratio"]), "d": f"p = {_f(r['p_value'], 3)}"})
        elif method == "mmrm_change":
            sections.append(_mmrm(o, datasets))
            r = o.to_dict()["result"]
            headline.append(
                {
                    "k": f"ALSFRS-R at {r['primary_visit']}",
                    "v": f"{r['difference']:+.2f}",
                    "d": f"p = {_f(r['p_value'], 3)}",
                }
            )
        elif method == "cafs":
            sections.append(_cafs(o))
        elif method == "slope":
            sections.append(_slope(o))
        elif method == "survival":
            sections.append(_survival(o))
        elif method == "biomarker":
            sections.append(_biomarkers(o))
        elif method == "safety":
            sections.append(_safety(o, {a.code: a.name for a in protocol.arms}))
    randomized = datasets.randomized
    left = randomized[~randomized["COMPLFL"]]
    decade = summaries.age_decade(left["AGE"])
    by_sex_decade = {
        {"F": "women", "M": "men"}.get(str(sex), str(sex)): {str(k): float(v) for k, v in group.value_counts().items()}
        for sex, group in decade.groupby(left["SEX"])
    }
    # no dropouts, no figure (an empty chart would only say so less clearly than the text)
    dropout_svg = (
        figures.grouped_bars(by_sex_decade, title="Dropouts by age decade and sex", ylabel="participants")
        if by_sex_decade
        else ""
    )
    control = next((a.code for a in protocol.arms if a.is_control), protocol.arms[-1].code)
    by_name = {o.endpoint.name: o for o in outcomes}
    sections = [
        replace(s, warnings=by_name[s.title].warnings) if s.title in by_name and by_name[s.title].warnings else s
        for s in sections
    ]
    return render_report(
        trial=trial_info,
        results=results,
        sections=sections,
        headline=headline,
        dropout_figure=dropout_svg,
        arm_names={a.code: a.name for a in protocol.arms},
        methods=f"comparisons are {', '.join(a.code for a in protocol.arms if a.code != control)} versus {control}.",
    )

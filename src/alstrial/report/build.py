"""Assemble the study report from the analysis datasets and the analysis plan's outcomes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import escape
from scipy import stats as sps

from alstrial.analysis import summaries
from alstrial.analysis.datasets import AnalysisDatasets
from alstrial.analysis.plan import EndpointOutcome
from alstrial.protocol.models import Protocol
from alstrial.report import figures
from alstrial.report.html import Figure, Section, Table, fmt_p, render_report


def _f(x: Any, nd: int = 2) -> str:
    return "–" if x is None else f"{float(x):.{nd}f}"


def _p_text(p: float | None) -> str:
    return "p = –" if p is None else ("p < 0.001" if p < 0.001 else f"p = {p:.3f}")


def _ci(d: Mapping[str, Any], nd: int = 2) -> str:
    return f"{_f(d.get('ci_lower'), nd)} to {_f(d.get('ci_upper'), nd)}"


MI_LABELS = {
    "mar": "Multiple imputation, MAR",
    "jump_to_reference": "Multiple imputation, jump to reference",
    "copy_reference": "Multiple imputation, copy reference",
    "copy_increments_in_reference": "Multiple imputation, copy increments in reference",
}


def _error_section(o: EndpointOutcome) -> Section:
    return Section(title=o.endpoint.name, lead=f"This endpoint could not be analysed: {o.error}")


def _responder(o: EndpointOutcome) -> Section:
    d = o.to_dict()
    r = d["result"]
    rows = [[p["arm"], str(p["n"]), str(p["responders"]), f"{100 * p['proportion']:.1f}%"] for p in r["proportions"]]
    lead = (
        f"A responder improves their ALSFRS-R slope by at least {r['threshold']} points/month after treatment "
        f"(post-treatment minus pre-treatment slope). Logistic regression adjusted for "
        f"{', '.join(r['covariates'])}: odds ratio {_f(r['odds_ratio'])} (95% CI {_ci(r)}), p = {_f(r['p_value'], 3)}."
    )
    composite = (d.get("estimand") or {}).get("composite_failures")
    if composite:
        lead += f" {composite} participant(s) with a composite intercurrent event count as non-responders."
    figs = []
    rates = d.get("rates_by_threshold")
    if rates:
        svg = figures.lines(
            pd.DataFrame(rates),
            x="threshold",
            y="proportion",
            group="arm",
            percent=True,
            title="Responders by slope-improvement threshold",
            xlabel="Threshold: post- minus pre-treatment slope (points/month)",
            ylabel="Responders (%)",
        )
        figs.append(Figure(svg, "Share of each arm whose ALSFRS-R slope improved by at least the threshold."))
    return Section(
        o.endpoint.name, lead, tables=[Table(["arm", "analysed", "responders", "proportion"], rows)], figures=figs
    )


def _mmrm(o: EndpointOutcome, ds: AnalysisDatasets) -> Section:
    r = o.to_dict()["result"]
    rows = [[arm, _f(v["estimate"]), _f(v["std_error"]), _ci(v)] for arm, v in r["lsmeans"].items()]
    rows.append([f"{r['treatment_arm']} − {r['reference_arm']}", _f(r["difference"]), _f(r["std_error"]), _ci(r)])
    tables = [Table(["", "LS mean change", "SE", "95% CI"], rows, caption=f"MMRM at {r['primary_visit']}")]
    sens = dict(o.to_dict().get("sensitivity", {}))
    tip = sens.pop("tipping_point", None)
    if sens:
        srows: list[list[str]] = [
            ["MMRM (primary, MAR by likelihood)", _f(r["difference"]), _ci(r), fmt_p(r["p_value"])]
        ]
        for key, s in sens.items():
            srows.append([MI_LABELS.get(str(key), str(key)), _f(s["estimate"]), _ci(s), fmt_p(s["p_value"])])
        tables.append(Table(["analysis", "difference", "95% CI", "p"], srows, caption="Missing-data sensitivity"))
    if tip:
        trows = [[f"{t['delta']:+g}", _f(t["estimate"]), _ci(t), fmt_p(t["p_value"])] for t in tip["table"]]
        where = (
            "significance is lost at no delta on the grid"
            if tip["tipping_delta"] is None
            else f"the conclusion flips at delta {tip['tipping_delta']:+g} points "
            f"(interpolated {_f(tip['tipping_delta_interpolated'])})"
        )
        tables.append(
            Table(
                ["delta added to imputed active-arm values", "difference", "95% CI", "p"],
                trows,
                caption=f"Tipping point (MAR imputations shifted by delta): {where}",
            )
        )
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
        f"(95% CI {_ci(r, 3)}), p = {_f(r['p_value'], 3)}; {r['n_subjects']} participants. "
        f"Fit {'converged' if r.get('converged') else 'did NOT converge'} "
        f"({r.get('optimizer') or 'optimiser not recorded'})."
    )
    return Section(o.endpoint.name, lead)


def numbers_at_risk(adtte: pd.DataFrame, times: list[float]) -> dict[str, list[int]]:
    """Participants still at risk (time ≥ t) at each time, per arm."""
    return {str(arm): [int((g["AVAL"] >= t).sum()) for t in times] for arm, g in adtte.groupby("ARM") if len(g)}


def _survival(o: EndpointOutcome, ds: AnalysisDatasets) -> Section:
    r = o.to_dict()["result"]
    curves = {arm: pd.DataFrame(km["table"]) for arm, km in r["km"].items() if km["table"]}
    rows = [[arm, str(km["n"]), str(km["events"])] for arm, km in r["km"].items()]
    figs = []
    if curves:
        horizon = float(ds.adtte["AVAL"].max()) if len(ds.adtte) else 0.0
        times = [float(t) for t in range(0, int(horizon) + 1, 28)]
        risk = numbers_at_risk(ds.adtte, times)
        svg = figures.km_with_risk_table(
            {a: c for a, c in curves.items() if a in risk},
            risk,
            times,
            title="Time to death or permanent assisted ventilation",
            xlabel="Days from first dose",
            ylabel="Event-free probability",
        )
        figs.append(Figure(svg, "Kaplan–Meier estimates by arm; the numbers at risk every 28 days are under the axis."))
    lr = r.get("logrank") or {}
    lead = f"Log-rank χ² = {_f(lr.get('chisq'))}, p = {_f(lr.get('p_value'), 3)}."
    return Section(o.endpoint.name, lead, tables=[Table(["arm", "n", "events"], rows)], figures=figs)


def _biomarkers(o: EndpointOutcome, ds: AnalysisDatasets, slopes: pd.Series | None) -> Section:
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
    gm = geometric_means(ds.adlb)
    if not gm.empty:
        panels = {str(code): g for code, g in gm.groupby("PARAMCD")}
        figs.append(
            Figure(
                figures.small_multiples(
                    panels,
                    x="WEEK",
                    y="GM",
                    group="ARM",
                    lower="LO",
                    upper="HI",
                    log=True,
                    title="CSF biomarkers over time: geometric mean (95% CI) by arm",
                    xlabel="Week",
                    ylabel="Concentration (pg/mL, log scale)",
                ),
                "Geometric means by visit; values below the LLOQ set to LLOQ/2.",
            )
        )
    if slopes is not None and "NFL" in set(ds.adlb["PARAMCD"]):
        change = log_change(ds.adlb, "NFL")
        if not change.empty:
            table = change.join(slopes.rename("SLOPE"), on="USUBJID", how="inner")
            figs.append(
                Figure(
                    figures.scatter_groups(
                        table,
                        x="SLOPE",
                        y="LOGCHG",
                        group="ARM",
                        title="Change in CSF NfL against the ALSFRS-R slope",
                        xlabel="Post-treatment ALSFRS-R slope (points/month)",
                        ylabel="log(NfL last / baseline)",
                    ),
                    "One point per participant with a baseline and a later NfL value; lines are least-squares fits.",
                )
            )
    cols = ["analyte", "n", "below LLOQ", "GM ratio", "95% CI", "p", "Spearman ρ with ALSFRS-R slope"]
    return Section(o.endpoint.name, tables=[Table(cols, rows)], figures=figs)


def _numeric_lab(adlb: pd.DataFrame) -> pd.DataFrame:
    lab = adlb.copy()
    lab["VAL"] = pd.to_numeric(lab["AVAL"], errors="coerce")
    lab.loc[lab["BLQFL"].astype(bool) | lab["VAL"].isna(), "VAL"] = lab["LLOQ"] / 2
    return lab[lab["VAL"] > 0]


def geometric_means(adlb: pd.DataFrame) -> pd.DataFrame:
    """Geometric mean and t-based 95% CI of each analyte by arm and visit week."""
    lab = _numeric_lab(adlb)
    if lab.empty:
        return pd.DataFrame()
    lab["LOGV"] = np.log(lab["VAL"])
    g = lab.groupby(["PARAMCD", "ARM", "ADY"])["LOGV"].agg(["mean", "std", "count"]).reset_index()
    g = g[g["count"] >= 2]
    half = sps.t.ppf(0.975, g["count"] - 1) * g["std"] / np.sqrt(g["count"])
    return g.assign(WEEK=g["ADY"] / 7, GM=np.exp(g["mean"]), LO=np.exp(g["mean"] - half), HI=np.exp(g["mean"] + half))


def log_change(adlb: pd.DataFrame, analyte: str) -> pd.DataFrame:
    """log(last / first) of one analyte per participant (needs two samples)."""
    lab = _numeric_lab(adlb[adlb["PARAMCD"] == analyte]).sort_values("ADY")
    per = lab.groupby("USUBJID").agg(
        ARM=("ARM", "first"), FIRST=("VAL", "first"), LAST=("VAL", "last"), K=("VAL", "size")
    )
    per = per[per["K"] >= 2]
    return per.assign(LOGCHG=np.log(per["LAST"] / per["FIRST"]))[["ARM", "LOGCHG"]]


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


def estimand_section(protocol: Protocol) -> Section | None:
    """The estimand table: ICH E9(R1) attributes and the analyses attached to each estimand."""
    if not protocol.estimands:
        return None
    rows = []
    for e in protocol.estimands:
        events = "<br>".join(
            f"{h.event.replace('_', ' ')}: <b>{h.strategy.replace('_', ' ')}</b>" for h in e.intercurrent_events
        )
        endpoint = next((x for x in protocol.endpoints if x.id == e.endpoint), None)
        analysis = endpoint.method.replace("_", " ") if endpoint else "–"
        sens = ", ".join(MI_LABELS.get(m.removeprefix("mi_"), m.replace("_", " ")) for m in e.sensitivity) or "–"
        rows.append(
            [
                f"<b>{e.id}</b><br>{escape(e.label)}",
                escape(e.population),
                escape(e.variable),
                events or "–",
                escape(e.summary),
                analysis,
                escape(sens),
            ]
        )
    cols = ["estimand", "population", "variable", "intercurrent events: strategy", "summary", "analysis", "sensitivity"]
    return Section(
        "Estimands",
        "Each estimand in ICH E9(R1) terms. A hypothetical or while-on-treatment strategy sets aside ALSFRS-R values "
        "recorded after the event; treatment policy uses every value; composite events are part of the variable.",
        tables=[Table(cols, rows, css="text")],
    )


def trajectories_section(
    ds: AnalysisDatasets, domains: pd.DataFrame | None, protocol: Protocol, *, group_label: str
) -> Section:
    """Individual ALSFRS-R trajectories and the mean of each ALSFRS-R domain over time."""
    fas = ds.adqs[ds.adqs["USUBJID"].isin(ds.fas["USUBJID"])]
    if fas.empty:
        return Section("ALSFRS-R trajectories and domains", "No ALSFRS-R value after the first dose yet.")
    figs = [
        Figure(
            figures.spaghetti(
                fas,
                x="AVISITN",
                y="AVAL",
                subject="USUBJID",
                group="ARM",
                title=f"Individual ALSFRS-R trajectories ({group_label})",
                xlabel="Week from first dose",
                ylabel="ALSFRS-R total (points, 0–48)",
            ),
            "Thin lines: one participant each; bold lines: the observed mean by visit.",
        )
    ]
    d = pd.DataFrame()
    if domains is not None and not domains.empty:
        arm = ds.adsl.set_index("USUBJID")["ARM"]
        d = domains[domains["USUBJID"].isin(ds.fas["USUBJID"]) & domains["TOTAL"].notna() & (domains["ADY"] >= 0)]
        week = {v.code: v.day / 7 for v in protocol.visits}  # the scheduled week, not the day it happened
        d = d.assign(ARM=d["USUBJID"].map(arm), WEEK=d["AVISIT"].map(week))
    if not d.empty:
        names = {
            "BULBAR": "Bulbar",
            "FINE_MOTOR": "Fine motor",
            "GROSS_MOTOR": "Gross motor",
            "RESPIRATORY": "Respiratory",
        }
        panels = {
            label: d.groupby(["ARM", "WEEK"])[col].mean().rename("MEAN").reset_index() for col, label in names.items()
        }
        figs.append(
            Figure(
                figures.small_multiples(
                    panels,
                    x="WEEK",
                    y="MEAN",
                    group="ARM",
                    title="ALSFRS-R domain scores over time (mean)",
                    xlabel="Week from first dose",
                    ylabel="Domain score (points, 0–12)",
                ),
                "Mean of each ALSFRS-R domain (three items, 0–12 points) by visit.",
            )
        )
    return Section("ALSFRS-R trajectories and domains", figures=figs)


def missing_section(ds: AnalysisDatasets, protocol: Protocol) -> Section:
    """Who was seen at which visit (missing-data pattern)."""
    visits = [v for v in protocol.visits if v.day >= 0]
    ids = list(ds.fas["USUBJID"])
    seen = ds.adqs[ds.adqs["AVAL"].notna()].assign(V=1).pivot_table(index="USUBJID", columns="AVISIT", values="V")
    grid = seen.reindex(index=ids, columns=[v.code for v in visits]).fillna(0.0)
    events = ds.adtte[ds.adtte["CNSR"] == 0].set_index("USUBJID")["AVAL"]
    for v in visits:
        after = pd.Series(grid.index, index=grid.index).map(events).to_numpy(dtype=float) < v.day
        grid.loc[after & (grid[v.code] == 0).to_numpy(), v.code] = np.nan
    if grid.empty:
        return Section("Missing data", "No participant in the full analysis set yet.")
    order = grid.fillna(0).to_numpy().sum(axis=1).argsort(kind="stable")[::-1]
    grid = grid.iloc[order]
    total = int(grid.notna().to_numpy().sum())
    missing = int((grid == 0).to_numpy().sum())
    lead = (
        f"{missing} of {total} scheduled ALSFRS-R assessments ({100 * missing / total if total else 0:.1f}%) are "
        "missing among the full analysis set (visits after death or permanent ventilation are not counted)."
    )
    svg = figures.missing_pattern(grid, title="Missing-data pattern: ALSFRS-R by scheduled visit")
    return Section("Missing data", lead, figures=[Figure(svg, "Each row is one participant, each column a visit.")])


def subgroup_section(result: Mapping[str, Any], arm_label: str) -> Section:
    """Forest plots of the prespecified subgroups and baseline thresholds (exploratory)."""
    rows = pd.DataFrame(result["rows"])
    inter = pd.DataFrame(result["interactions"])
    if rows.empty:
        return Section("Subgroups (exploratory)", "No participant in the full analysis set yet.")
    figs, tables = [], []
    spec = {
        "mmrm_change": ("Difference in ALSFRS-R change at the primary visit (points)", 0.0, False),
        "responder": ("Responder odds ratio (log scale)", 1.0, True),
    }
    for analysis, (xlabel, null, log) in spec.items():
        sub = rows[(rows["analysis"] == analysis) & rows["estimate"].notna()]
        if sub.empty:
            continue
        p_of = inter[inter["analysis"] == analysis].set_index("subgroup")["p_value"]
        forest_rows = []
        for _, r in sub.iterrows():
            p = p_of.get(r["subgroup"])
            note = f"n={int(r['n'])}" + (f", p-int={p:.2f}" if p is not None and not pd.isna(p) else "")
            forest_rows.append(
                {
                    "label": f"{r['label']}: {r['level']}",
                    "estimate": r["estimate"],
                    "ci_lower": r["ci_lower"],
                    "ci_upper": r["ci_upper"],
                    "note": note,
                }
            )
        title = "Subgroups (exploratory): " + ("MMRM change" if analysis == "mmrm_change" else "responder odds ratio")
        figs.append(
            Figure(
                figures.forest(forest_rows, title=title, xlabel=xlabel, null=null, log=log),
                f"{arm_label}; each level fitted separately; p-int: treatment-by-subgroup interaction (table below).",
            )
        )

    def stat(r: Any) -> str:
        value = r.get("statistic")
        if value is None or pd.isna(value):
            return "–"
        df = r.get("df")
        return f"t = {_f(value)} ({_f(df, 1)} df)" if df is not None and not pd.isna(df) else f"z = {_f(value)}"

    trows = [
        [
            str(r["analysis"]).replace("_", " "),
            str(r["label"]),
            str(r.get("test") or "–"),
            stat(r),
            fmt_p(r["p_value"]) if r["p_value"] is not None and not pd.isna(r["p_value"]) else (r["error"] or "–"),
        ]
        for _, r in inter.iterrows()
    ]
    tables.append(
        Table(
            ["analysis", "subgroup", "test", "statistic", "interaction p"],
            trows,
            caption=(
                "Treatment-by-subgroup interaction: 'one model' is the arm × subgroup term of one model of every"
                " participant; 'z-test' compares the separately fitted levels (Altman & Bland 2003)."
            ),
        )
    )
    failed = rows[rows["estimate"].isna()]
    if len(failed):
        frows = [[str(r["analysis"]), f"{r['label']}: {r['level']}", str(r["error"])] for _, r in failed.iterrows()]
        tables.append(Table(["analysis", "level", "why not estimable"], frows, caption="Levels not estimable"))
    lead = (
        "EXPLORATORY. Prespecified subgroups and the series of baseline ALSFRS-R cut points, with no adjustment for "
        "multiplicity. The published trial leaned on its baseline ALSFRS-R ≥ 35 subgroup after missing its primary "
        "endpoint; read these as hypotheses, not findings."
    )
    return Section("Subgroups (exploratory)", lead, tables=tables, figures=figs)


def data_quality_section(quality: Mapping[str, Any], out_of_window: pd.DataFrame | None) -> Section:
    """The data-quality appendix: visit windows, queries, corrections, imports, signatures."""
    q = quality["queries"]
    rows = [
        ["Visits recorded", str(quality["visits"])],
        ["Visits out of window", str(quality["out_of_window"])],
        ["Queries opened", str(q.get("opened", 0))],
        *[[f"Queries {k}", str(v)] for k, v in q.items() if k != "opened"],
        ["Median days from query to close", _f(quality.get("query_days_to_close_median"), 1)],
        *[[f"Corrections of {k.replace('_', ' ')}", str(v)] for k, v in quality["corrections"].items()],
        ["Import batches", str(quality["imports"])],
    ]
    signatures = quality.get("signatures") or {"by_kind": {}, "rows": []}
    for kind, n in sorted(signatures["by_kind"].items()):
        broken = f", {n['broken']} broken (content changed after signing)" if n["broken"] else ""
        rows.append([f"Signatures: {kind.replace('_', ' ')}", f"{n['valid']} valid{broken}"])
    if not signatures["by_kind"]:
        rows.append(["Electronic signatures", "none"])
    tables = [Table(["item", "count"], rows, caption="Summary")]
    if signatures["rows"]:
        srows = [
            [escape(r["kind"].replace("_", " ")), escape(r["target"]), escape(r["meaning"]), escape(r["signer"]),
             r["signed_at"], r["status"]]
            for r in signatures["rows"][:50]
        ]  # fmt: skip
        more = f" (first 50 of {len(signatures['rows'])})" if len(signatures["rows"]) > 50 else ""
        tables.append(
            Table(["kind", "signed record", "meaning", "signer", "signed", "status"], srows,
                  caption="Electronic signatures (21 CFR Part 11 manifestations)" + more)
        )  # fmt: skip
    if out_of_window is not None and len(out_of_window):
        orows = [
            [escape(str(r["USUBJID"])), str(r["AVISIT"]), f"{int(r['DEVDAYS']):+d}", escape(str(r["OOWREAS"] or "–"))]
            for _, r in out_of_window.head(50).iterrows()
        ]
        cap = "Out-of-window visits" + (f" (first 50 of {len(out_of_window)})" if len(out_of_window) > 50 else "")
        tables.append(Table(["participant", "visit", "days off target", "reason"], orows, caption=cap))
    return Section("Appendix: data quality", "Counts from the capture database and its audit trail.", tables=tables)


def build_report(
    *,
    protocol: Protocol,
    datasets: AnalysisDatasets,
    outcomes: Sequence[EndpointOutcome],
    results: Mapping[str, Any],
    trial_info: Mapping[str, Any],
    domains: pd.DataFrame | None = None,
    quality: Mapping[str, Any] | None = None,
    out_of_window: pd.DataFrame | None = None,
    arm_label: str = "by arm",
) -> str:
    """The study report (sponsor or closed DSMB) as one HTML string."""
    sections: list[Section] = []
    headline: list[dict[str, str]] = []
    est = estimand_section(protocol)
    if est is not None:
        sections.append(est)
    from alstrial.analysis.plan import AnalysisPlan

    try:
        slopes: pd.Series | None = AnalysisPlan(protocol).slopes(datasets)["post_slope"]
    except (ValueError, KeyError):
        slopes = None
    for o in outcomes:
        if o.error is not None:
            sections.append(_error_section(o))
            continue
        method = o.endpoint.method
        if method == "responder":
            sections.append(_responder(o))
            r = o.to_dict()["result"]
            headline.append({"k": "Primary: responder OR", "v": _f(r["odds_ratio"]), "d": _p_text(r["p_value"])})
        elif method == "mmrm_change":
            sections.append(_mmrm(o, datasets))
            r = o.to_dict()["result"]
            headline.append(
                {
                    "k": f"ALSFRS-R at {r['primary_visit']}",
                    "v": f"{r['difference']:+.2f}",
                    "d": _p_text(r["p_value"]),
                }
            )
        elif method == "cafs":
            sections.append(_cafs(o))
        elif method == "slope":
            sections.append(_slope(o))
        elif method == "survival":
            sections.append(_survival(o, datasets))
        elif method == "biomarker":
            sections.append(_biomarkers(o, datasets, slopes))
        elif method == "safety":
            sections.append(_safety(o, {a.code: a.name for a in protocol.arms}))
    sections.append(trajectories_section(datasets, domains, protocol, group_label=arm_label))
    sections.append(missing_section(datasets, protocol))
    if results.get("subgroups"):
        sections.append(subgroup_section(results["subgroups"], arm_label))
    if quality is not None:
        sections.append(data_quality_section(quality, out_of_window))
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


def build_open_report(
    *,
    datasets: AnalysisDatasets,
    results: Mapping[str, Any],
    trial_info: Mapping[str, Any],
    safety: Any,
    quality: Mapping[str, Any],
    out_of_window: pd.DataFrame | None,
    protocol: Protocol,
) -> str:
    """The open DSMB report: enrolment, baseline, safety and data quality, all arms pooled.

    ``datasets`` must already be pooled (every ``ARM`` one value): nothing here can split by arm.
    """
    arms = set(datasets.adsl["ARM"].dropna())
    if len(arms) > 1:
        raise ValueError(f"the open report takes pooled datasets (found arms {sorted(arms)})")
    pooled = next(iter(arms), "All")
    r = safety.to_dict()
    n = r["safety_set"][pooled]
    cols = ["", f"All participants (n = {n})"]

    def cell(count: int) -> str:
        return f"{count} ({100 * count / n:.1f}%)" if n else str(count)

    sections = [
        Section(
            "Safety (pooled)",
            "Participants (not events) with at least one adverse event, over everyone who received a dose, "
            "all arms together.",
            tables=[
                Table(cols, [[c, cell(row[pooled])] for c, row in r["overview"].items()], caption="Overview"),
                Table(
                    cols,
                    [[escape(t), cell(row[pooled])] for t, row in r["by_term"].items()],
                    caption="By reported term",
                ),
            ],
        ),
        missing_section(datasets, protocol),
        data_quality_section(quality, out_of_window),
    ]
    return render_report(
        trial=trial_info,
        results=results,
        sections=sections,
        headline=[],
        dropout_figure="",
        arm_names={pooled: "All participants (pooled)"},
        methods="open report: arms pooled, no comparison between arms.",
    )

"""Run the protocol's analysis plan on the analysis datasets.

Each endpoint of the protocol maps to one statistical engine in ``alstrial.stats``; the runner
only reshapes the datasets into what each engine takes. An endpoint that cannot be analysed
(too little data, a model that does not fit) is reported with its error instead of stopping
the whole plan: a report with one honest gap beats no report.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Final

import numpy as np
import pandas as pd

from alstrial.analysis.datasets import AnalysisDatasets, primary_visit_code
from alstrial.analysis.estimands import apply_strategies, empty_adice
from alstrial.analysis.safety import safety_summary
from alstrial.analysis.slope_rule import slope_rule
from alstrial.analysis.subgroups import SubgroupResult, run_subgroups, threshold_subgroups
from alstrial.errors import AlstrialError
from alstrial.protocol.models import Endpoint, Protocol
from alstrial.stats.biomarkers import LloqRule, biomarker_ancova, biomarker_slope_correlation
from alstrial.stats.cafs import cafs_test
from alstrial.stats.endpoints_change import change_from_baseline_mmrm, subgroup_interaction_mmrm
from alstrial.stats.imputation.analysis import ancova_analysis
from alstrial.stats.imputation.mi_mar import analyse_imputed, impute_mvn
from alstrial.stats.imputation.tipping_point import tipping_point
from alstrial.stats.responder import responder_analysis
from alstrial.stats.responder_interaction import responder_interaction
from alstrial.stats.responder_slopes import derive_pre_post_slopes
from alstrial.stats.result import plain
from alstrial.stats.slope_model import random_slope_model
from alstrial.stats.survival import survival_analysis

SUBGROUP_DF: Final = "satterthwaite"
RESPONDER_COVARIATES = {
    "baseline_alsfrs_r": "BASEALS",
    "months_since_onset": "MOSONSET",
    "onset_region": "ONSETREG",
    "riluzole": "RILUZFL",
    "pre_slope": "PRESLOPE",
}


@dataclass(frozen=True)
class EndpointOutcome:
    """The result of one endpoint: the engine's result object, or the error that stopped it."""

    endpoint: Endpoint
    result: Any = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.endpoint.name, "kind": self.endpoint.kind, "method": self.endpoint.method}
        if self.warnings:
            out["warnings"] = list(self.warnings)
        if self.error is not None:
            out["error"] = self.error
        else:
            out["result"] = clean_json(self.result)
        out.update(clean_json(self.extra))
        return out


def clean_json(value: Any, digits: int = 10) -> Any:
    """Make a result JSON-safe and byte-stable: NaN/inf → None, numpy → Python, floats rounded."""
    return plain(value, digits=digits)


class AnalysisPlan:
    """The endpoints of a protocol, run on one set of analysis datasets."""

    def __init__(
        self, protocol: Protocol, *, seed: int = 0, imputations: int | None = None, adice: pd.DataFrame | None = None
    ) -> None:
        self.protocol = protocol
        self.seed = seed
        self.imputations = imputations if imputations is not None else protocol.analysis.imputations
        #: intercurrent events (``analysis.estimands.ADICE_COLUMNS``) that the estimands' strategies act on
        self.adice = adice if adice is not None else empty_adice()
        control = [a.code for a in protocol.arms if a.is_control]
        self.reference = control[0] if control else protocol.arms[0].code
        self.primary_visit = primary_visit_code(protocol)
        self.baseline_visit = protocol.dose_visits()[0].code

    def run(self, ds: AnalysisDatasets) -> list[EndpointOutcome]:
        runners: dict[str, Callable[[Endpoint, AnalysisDatasets], EndpointOutcome]] = {
            "responder": self._responder,
            "mmrm_change": self._mmrm_change,
            "cafs": self._cafs,
            "slope": self._slope,
            "survival": self._survival,
            "biomarker": self._biomarkers,
            "safety": self._safety,
        }
        outcomes = []
        for endpoint in self.protocol.endpoints:
            runner = runners.get(endpoint.method)
            if runner is None:
                continue
            # Warnings (non-convergence, separation, ...) belong to the endpoint's result: they are
            # recorded with it and shown in the report rather than lost on a console.
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    outcome = runner(endpoint, ds)
                except (AlstrialError, ValueError, np.linalg.LinAlgError) as exc:
                    outcome = EndpointOutcome(endpoint, error=f"{type(exc).__name__}: {exc}")
            notes = tuple(
                dict.fromkeys([*(f"{w.category.__name__}: {w.message}" for w in caught), *engine_notes(outcome.result)])
            )
            outcomes.append(replace(outcome, warnings=notes) if notes else outcome)
        return outcomes

    # -- estimands -------------------------------------------------------------------------
    def _adqs_for(self, endpoint: Endpoint, ds: AnalysisDatasets) -> tuple[pd.DataFrame, dict[str, Any]]:
        """ADQS as the endpoint's estimand uses it (values after hypothetical events set aside)."""
        adqs, log = apply_strategies(ds.adqs, self.adice, self.protocol.estimand_for(endpoint.id))
        return adqs, log.to_dict()

    # -- endpoints -------------------------------------------------------------------------
    def _visit_day(self, code: str | None) -> int:
        return self.protocol.visit(code or self.primary_visit).day

    def slopes(self, ds: AnalysisDatasets) -> pd.DataFrame:
        """Per participant pre-treatment (run-in) and post-treatment slopes, by the protocol's rule."""
        long = ds.adqs_runin[ds.adqs_runin["USUBJID"].isin(ds.fas["USUBJID"])]
        rule = slope_rule(self.protocol)
        slopes = derive_pre_post_slopes(
            long,
            subject="USUBJID",
            day="ADY",
            score="AVAL",
            baseline_day=0.0,
            endpoint_day=float(self._visit_day(self.primary_visit)),
            method=rule.post_method,
            pre_method=rule.pre_method,
            months_since_onset=ds.fas.set_index("USUBJID")["MOSONSET"],
        )
        return slopes.set_index("USUBJID")

    def responder_frame(self, ds: AnalysisDatasets, endpoint: Endpoint) -> tuple[pd.DataFrame, list[str]]:
        """One row per FAS participant with pre/post slopes and the endpoint's covariate columns."""
        slopes = self.slopes(ds)
        names = endpoint.parameters.get("covariates", list(RESPONDER_COVARIATES))
        covariates = [RESPONDER_COVARIATES.get(n, n) for n in names]
        df = ds.fas.drop(columns=["PRESLOPE"]).merge(slopes, left_on="USUBJID", right_index=True, how="left")
        df = df.rename(columns={"pre_slope": "PRESLOPE"})
        df["RILUZFL"] = df["RILUZFL"].astype(int)
        df["SLOPECHG"] = df["post_slope"] - df["PRESLOPE"]
        # composite strategy: an event before the primary visit is a failure (never a response)
        estimand = self.protocol.estimand_for(endpoint.id)
        day = self._visit_day(endpoint.visit or self.primary_visit)
        events = [h.event for h in estimand.intercurrent_events if h.strategy == "composite"] if estimand else []
        failed = self.adice[self.adice["EVENT"].isin(events) & (self.adice["ADY"] <= day)]["USUBJID"]
        df.loc[df["USUBJID"].isin(failed), "SLOPECHG"] = -np.inf
        return df, covariates

    def _responder(self, endpoint: Endpoint, ds: AnalysisDatasets) -> EndpointOutcome:
        df, covariates = self.responder_frame(ds, endpoint)
        threshold = float(endpoint.parameters.get("threshold_points_per_month", 1.25))
        result = responder_analysis(
            df,
            arm="ARM",
            slope_change="SLOPECHG",
            covariates=covariates,
            threshold=threshold,
            reference=self.reference,
            missing=slope_rule(self.protocol).missing_post,
        )
        composite = int(np.isneginf(df["SLOPECHG"]).sum())
        extra = {
            "rates_by_threshold": self._rates_by_threshold(df, threshold),
            "estimand": {"composite_failures": composite},
        }
        return EndpointOutcome(endpoint, result, extra=extra)

    def _rates_by_threshold(self, df: pd.DataFrame, primary: float) -> list[dict[str, Any]]:
        """Responder proportion by arm over a range of slope-improvement thresholds (points/month)."""
        change = df["SLOPECHG"]
        ok = change.notna()
        out = []
        for t in sorted({0.25, 0.5, 0.75, 1.0, primary, 1.5, 2.0}):
            for arm, g in df[ok].groupby("ARM"):
                n = len(g)
                r = int((change[g.index] >= t).sum())
                out.append(
                    {"threshold": t, "arm": str(arm), "n": n, "responders": r, "proportion": r / n if n else None}
                )
        return out

    def mmrm_change(
        self, endpoint: Endpoint, adqs: pd.DataFrame, ds: AnalysisDatasets, *, strata: tuple[str, ...] = ("ALSBAND",)
    ) -> Any:
        """The MMRM change-from-baseline fit of ``adqs`` (a subset for subgroups: with the strata that vary in it)."""
        post = self._changes(adqs).merge(ds.adsl[["USUBJID", "ALSBAND"]], on="USUBJID", how="left")
        return change_from_baseline_mmrm(
            post,
            strata=list(strata),
            primary_visit=endpoint.visit or self.primary_visit,
            reference_arm=self.reference,
            df=endpoint.parameters.get("df", "kenward-roger"),
        )

    def _changes(self, adqs: pd.DataFrame) -> pd.DataFrame:
        """The post-baseline rows of ``adqs`` that have a change from baseline (what an MMRM fits)."""
        return adqs[(adqs["AVISIT"] != self.baseline_visit) & adqs["CHG"].notna()]

    def _mmrm_change(self, endpoint: Endpoint, ds: AnalysisDatasets) -> EndpointOutcome:
        adqs, log = self._adqs_for(endpoint, ds)
        result = self.mmrm_change(endpoint, adqs, ds)
        extra = {"estimand": log, "sensitivity": self._sensitivity(ds, endpoint, adqs)}
        return EndpointOutcome(endpoint, result, extra=extra)

    def _wide(
        self, ds: AnalysisDatasets, value: str, adqs: pd.DataFrame | None = None
    ) -> tuple[pd.DataFrame, list[str]]:
        """One row per randomized participant: arm, baseline and ``value`` at each post-baseline visit."""
        adqs = ds.adqs if adqs is None else adqs
        post = adqs[adqs["AVISIT"] != self.baseline_visit]
        visits = [v.code for v in self.protocol.visits if v.code in set(post["AVISIT"])]
        wide = post.pivot_table(index="USUBJID", columns="AVISIT", values=value).reindex(columns=visits)
        base = ds.fas.set_index("USUBJID")[["ARM", "BASEALS"]]
        return base.join(wide, how="left"), visits

    def _sensitivity(self, ds: AnalysisDatasets, endpoint: Endpoint, adqs: pd.DataFrame) -> dict[str, Any]:
        """The estimand's missing-data sensitivity analyses of the change at the primary visit.

        Multiple imputation under MAR and the reference-based methods (J2R, CR, CIR), and a
        delta-adjusted tipping point on the MAR imputations. Without an estimand: MAR and J2R.
        """
        estimand = self.protocol.estimand_for(endpoint.id)
        wanted = list(estimand.sensitivity) if estimand is not None else ["mi_mar", "mi_jump_to_reference"]
        wide, visits = self._wide(ds, "AVAL", adqs)
        target = endpoint.visit or self.primary_visit
        out: dict[str, Any] = {}
        methods = [m.removeprefix("mi_") for m in wanted if m.startswith("mi_")]
        if "tipping_point" in wanted and "mar" not in methods:
            methods.insert(0, "mar")
        analysis = ancova_analysis(arm="ARM", baseline="BASEALS", visit=target, reference=self.reference)
        for method in methods:
            imputed = impute_mvn(
                wide.reset_index(),
                arm="ARM",
                baseline="BASEALS",
                visits=visits,
                m=self.imputations,
                seed=self.seed,
                method=method,  # type: ignore[arg-type]
                reference=self.reference,
            )
            if f"mi_{method}" in wanted:
                out[method] = clean_json(analyse_imputed(imputed, analysis).to_dict())
            if method == "mar" and "tipping_point" in wanted:
                tip = tipping_point(
                    imputed, analysis, self.protocol.analysis.tipping_deltas, alpha=self.protocol.analysis.alpha
                )
                out["tipping_point"] = clean_json(tip.to_dict())
        return out

    def _cafs(self, endpoint: Endpoint, ds: AnalysisDatasets) -> EndpointOutcome:
        wide, visits = self._wide(ds, "CHG")
        tte = ds.adtte.set_index("USUBJID")
        df = wide.join(tte[["AVAL", "CNSR"]]).reset_index()
        df["EVENT"] = 1 - df["CNSR"]
        result = cafs_test(
            df, arm="ARM", time="AVAL", event="EVENT", change=visits, subject="USUBJID", reference=self.reference
        )
        return EndpointOutcome(endpoint, result)

    def _slope(self, endpoint: Endpoint, ds: AnalysisDatasets) -> EndpointOutcome:
        adqs, log = self._adqs_for(endpoint, ds)
        result = random_slope_model(
            adqs, subject="USUBJID", time="ADY", score="AVAL", arm="ARM", reference=self.reference, time_unit="days"
        )
        return EndpointOutcome(endpoint, result, extra={"estimand": log})

    def _survival(self, endpoint: Endpoint, ds: AnalysisDatasets) -> EndpointOutcome:
        df = ds.adtte.assign(EVENT=1 - ds.adtte["CNSR"])
        result = survival_analysis(df, time="AVAL", event="EVENT", group="ARM", event_coding="01")
        return EndpointOutcome(endpoint, result)

    def _safety(self, endpoint: Endpoint, ds: AnalysisDatasets) -> EndpointOutcome:
        return EndpointOutcome(endpoint, safety_summary(ds.adsl, ds.adae, [a.code for a in self.protocol.arms]))

    def _biomarkers(self, endpoint: Endpoint, ds: AnalysisDatasets) -> EndpointOutcome:
        analytes = endpoint.parameters.get("analytes", [a.code for a in self.protocol.analytes])
        rules: dict[str, LloqRule] = {"half_lloq": "half", "lloq_sqrt2": "sqrt2", "exclude": "exclude"}
        rule = rules.get(endpoint.parameters.get("below_lloq", "half_lloq"), "half")
        target = endpoint.visit or self.primary_visit
        slopes = self.slopes(ds)["post_slope"]
        results: dict[str, Any] = {}
        correlations: dict[str, Any] = {}
        for code in analytes:
            lb = ds.adlb[ds.adlb["PARAMCD"] == code]
            value = lb["AVAL"].where(~lb["BLQFL"], other=np.nan).astype(object)
            value[lb["BLQFL"].to_numpy()] = "<LLOQ"
            wide = lb.assign(V=value).pivot_table(index="USUBJID", columns="AVISIT", values="V", aggfunc="first")
            if self.baseline_visit not in wide or target not in wide:
                continue
            df = ds.fas.set_index("USUBJID")[["ARM"]].join(wide[[self.baseline_visit, target]], how="inner")
            df = df.dropna(subset=[self.baseline_visit, target]).rename(
                columns={self.baseline_visit: "BASE", target: "POST"}
            )
            lloq = self.protocol.analyte(code).lloq
            res = biomarker_ancova(
                df.reset_index(),
                arm="ARM",
                baseline="BASE",
                post="POST",
                lloq=lloq,
                lloq_rule=rule,
                reference=self.reference,
                analyte=code,
            )
            results[code] = res
            numeric = df.assign(
                B=pd.to_numeric(df["BASE"], errors="coerce").fillna(lloq / 2),
                P=pd.to_numeric(df["POST"], errors="coerce").fillna(lloq / 2),
            )
            change = np.log(numeric["P"]) - np.log(numeric["B"])
            correlations[code] = biomarker_slope_correlation(change, slopes.reindex(change.index)).to_dict()
        return EndpointOutcome(endpoint, results, extra={"correlation_with_alsfrs_r_slope": correlations})

    # -- subgroups (exploratory) -----------------------------------------------------------
    def subgroups(self, ds: AnalysisDatasets) -> SubgroupResult | None:
        """The prespecified subgroups and baseline thresholds, for the MMRM change and the responder OR."""
        subgroups = [*self.protocol.subgroups, *threshold_subgroups(self.protocol.analysis.baseline_thresholds)]
        if not subgroups:
            return None
        analyses: dict[str, Callable[[pd.Index], dict[str, Any]]] = {}
        interaction_tests: dict[str, Callable[[pd.Series], dict[str, Any]]] = {}
        mmrm = next((e for e in self.protocol.endpoints if e.method == "mmrm_change"), None)
        if mmrm is not None:
            adqs, _ = self._adqs_for(mmrm, ds)
            # Satterthwaite df: about 4x faster than Kenward-Roger over ~20 exploratory fits, and
            # the same estimates; the CIs differ in the second decimal at this sample size
            per_level = mmrm.model_copy(update={"parameters": {**mmrm.parameters, "df": SUBGROUP_DF}})

            band = ds.adsl.set_index("USUBJID")["ALSBAND"]

            def strata_within(ids: pd.Index, levels: pd.Series | None = None) -> tuple[str, ...]:
                # the primary model's stratum, unless it is one value in the subset (baseline >= 35) or
                # within each level of the subgroup (the subgroup is the stratum): then it cannot be fitted
                bands = band.reindex(ids)
                varies = (
                    bands.nunique() > 1 if levels is None else bands.groupby(levels.reindex(ids)).nunique().max() > 1
                )
                return ("ALSBAND",) if varies else ()

            def change(ids: pd.Index) -> dict[str, Any]:
                r = self.mmrm_change(
                    per_level, adqs[adqs["USUBJID"].isin(ids)], ds, strata=strata_within(pd.Index(ids))
                )
                return {
                    "n": r.n_subjects,
                    "estimate": r.difference,
                    "std_error": r.std_error,
                    "ci_lower": r.ci_lower,
                    "ci_upper": r.ci_upper,
                    "p_value": r.p_value,
                }

            analyses["mmrm_change"] = change

            changes = self._changes(adqs)

            def change_interaction(levels: pd.Series) -> dict[str, Any]:
                post = changes.merge(levels.rename("SUBGROUP"), left_on="USUBJID", right_index=True)
                post = post.merge(band, left_on="USUBJID", right_index=True, how="left")
                r = subgroup_interaction_mmrm(
                    post,
                    subgroup="SUBGROUP",
                    primary_visit=mmrm.visit or self.primary_visit,
                    reference_arm=self.reference,
                    strata=strata_within(levels.dropna().index, levels),
                    df=SUBGROUP_DF,
                )
                return {k: getattr(r, k) for k in ("estimate", "std_error", "statistic", "df", "p_value")}

            interaction_tests["mmrm_change"] = change_interaction
        responder = next((e for e in self.protocol.endpoints if e.method == "responder"), None)
        if responder is not None:
            frame, covariates = self.responder_frame(ds, responder)
            threshold = float(responder.parameters.get("threshold_points_per_month", 1.25))

            def odds(ids: pd.Index) -> dict[str, Any]:
                sub = frame[frame["USUBJID"].isin(ids)]
                usable = [c for c in covariates if sub[c].nunique(dropna=True) > 1]  # constant within the level
                r = responder_analysis(
                    sub,
                    arm="ARM",
                    slope_change="SLOPECHG",
                    covariates=usable,
                    threshold=threshold,
                    reference=self.reference,
                )
                return {
                    "n": r.n,
                    "estimate": r.odds_ratio,
                    "log_estimate": r.log_odds_ratio,
                    "std_error": r.std_error,
                    "ci_lower": r.ci_lower,
                    "ci_upper": r.ci_upper,
                    "p_value": r.p_value,
                }

            analyses["responder"] = odds

            def odds_interaction(levels: pd.Series) -> dict[str, Any]:
                sub = frame.merge(levels.rename("SUBGROUP"), left_on="USUBJID", right_index=True)
                # a covariate that is one value within each level is the subgroup's own variable (onset
                # region for the onset subgroup): with the subgroup term it would make the model singular
                usable = [c for c in covariates if sub.groupby("SUBGROUP")[c].nunique(dropna=True).max() > 1]
                r = responder_interaction(
                    sub,
                    arm="ARM",
                    subgroup="SUBGROUP",
                    slope_change="SLOPECHG",
                    covariates=usable,
                    threshold=threshold,
                    reference=self.reference,
                )
                return {
                    "estimate": r.log_ratio,
                    "std_error": r.std_error,
                    "statistic": r.statistic,
                    "df": None,
                    "p_value": r.p_value,
                }

            interaction_tests["responder"] = odds_interaction
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # per-level fits of small subgroups warn; their errors are recorded
            return run_subgroups(
                ds.adsl[ds.adsl["FASFL"]],
                subgroups,
                analyses,
                log_scale=("responder",),
                settings={"mmrm_df": SUBGROUP_DF} if mmrm is not None else {},
                interaction_tests=interaction_tests,
            )


def engine_notes(result: Any) -> list[str]:
    """Convergence and optimiser notes an engine keeps on its result object (nested results too)."""
    out: list[str] = []
    if isinstance(result, dict):
        for key, value in result.items():
            out += [f"{key}: {n}" for n in engine_notes(value)]
        return out
    fit = getattr(result, "fit", None)
    if fit is not None and fit is not result:
        out += engine_notes(fit)
    converged = getattr(result, "converged", None)
    if converged is False:
        how = getattr(result, "optimizer", "")
        out.append(f"{type(result).__name__}: the model did not converge" + (f" ({how})" if how else ""))
    for note in getattr(result, "notes", ()) or ():
        out.append(f"{type(result).__name__} note: {note}")
    return out

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
from typing import Any

import numpy as np
import pandas as pd

from alstrial.analysis.datasets import AnalysisDatasets, primary_visit_code
from alstrial.analysis.safety import safety_summary
from alstrial.errors import AlstrialError
from alstrial.protocol.models import Endpoint, Protocol
from alstrial.stats.biomarkers import LloqRule, biomarker_ancova, biomarker_slope_correlation
from alstrial.stats.cafs import cafs_test
from alstrial.stats.endpoints_change import change_from_baseline_mmrm
from alstrial.stats.imputation.analysis import ancova_analysis
from alstrial.stats.imputation.mi_mar import analyse_imputed, impute_mvn
from alstrial.stats.responder import responder_analysis
from alstrial.stats.responder_slopes import derive_pre_post_slopes
from alstrial.stats.result import plain
from alstrial.stats.slope_model import random_slope_model
from alstrial.stats.survival import survival_analysis

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

    def __init__(self, protocol: Protocol, *, seed: int = 0, imputations: int = 20) -> None:
        self.protocol = protocol
        self.seed = seed
        self.imputations = imputations
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
            notes = tuple(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
            outcomes.append(replace(outcome, warnings=notes) if notes else outcome)
        return outcomes

    # -- endpoints -------------------------------------------------------------------------
    def _visit_day(self, code: str | None) -> int:
        return self.protocol.visit(code or self.primary_visit).day

    def slopes(self, ds: AnalysisDatasets) -> pd.DataFrame:
        """Per participant pre-treatment (run-in) and post-treatment least-squares slopes."""
        long = ds.adqs_runin[ds.adqs_runin["USUBJID"].isin(ds.fas["USUBJID"])]
        slopes = derive_pre_post_slopes(
            long,
            subject="USUBJID",
            day="ADY",
            score="AVAL",
            baseline_day=0.0,
            endpoint_day=float(self._visit_day(self.primary_visit)),
            method="least_squares",
        )
        return slopes.set_index("USUBJID")

    def _responder(self, endpoint: Endpoint, ds: AnalysisDatasets) -> EndpointOutcome:
        params = endpoint.parameters
        slopes = self.slopes(ds)
        names = params.get("covariates", list(RESPONDER_COVARIATES))
        covariates = [RESPONDER_COVARIATES.get(n, n) for n in names]
        df = ds.fas.drop(columns=["PRESLOPE"]).merge(slopes, left_on="USUBJID", right_index=True, how="left")
        df = df.rename(columns={"pre_slope": "PRESLOPE"})
        df["RILUZFL"] = df["RILUZFL"].astype(int)
        result = responder_analysis(
            df,
            arm="ARM",
            pre_slope="PRESLOPE",
            post_slope="post_slope",
            covariates=covariates,
            threshold=float(params.get("threshold_points_per_month", 1.25)),
            reference=self.reference,
        )
        return EndpointOutcome(endpoint, result)

    def _mmrm_change(self, endpoint: Endpoint, ds: AnalysisDatasets) -> EndpointOutcome:
        adqs = ds.adqs[(ds.adqs["AVISIT"] != self.baseline_visit) & ds.adqs["CHG"].notna()]
        adqs = adqs.merge(ds.adsl[["USUBJID", "ALSBAND"]], on="USUBJID", how="left")
        result = change_from_baseline_mmrm(
            adqs,
            strata=["ALSBAND"],
            primary_visit=endpoint.visit or self.primary_visit,
            reference_arm=self.reference,
            df=endpoint.parameters.get("df", "kenward-roger"),
        )
        return EndpointOutcome(endpoint, result, extra={"sensitivity": self._sensitivity(ds, endpoint)})

    def _wide(self, ds: AnalysisDatasets, value: str) -> tuple[pd.DataFrame, list[str]]:
        """One row per randomized participant: arm, baseline and ``value`` at each post-baseline visit."""
        post = ds.adqs[ds.adqs["AVISIT"] != self.baseline_visit]
        visits = [v.code for v in self.protocol.visits if v.code in set(post["AVISIT"])]
        wide = post.pivot_table(index="USUBJID", columns="AVISIT", values=value).reindex(columns=visits)
        base = ds.fas.set_index("USUBJID")[["ARM", "BASEALS"]]
        return base.join(wide, how="left"), visits

    def _sensitivity(self, ds: AnalysisDatasets, endpoint: Endpoint) -> dict[str, Any]:
        """Multiple imputation under MAR and jump-to-reference for the change at the primary visit."""
        wide, visits = self._wide(ds, "AVAL")
        target = endpoint.visit or self.primary_visit
        out: dict[str, Any] = {}
        for method in ("mar", "jump_to_reference"):
            imputed = impute_mvn(
                wide.reset_index(),
                arm="ARM",
                baseline="BASEALS",
                visits=visits,
                m=self.imputations,
                seed=self.seed,
                method=method,
                reference=self.reference,
            )
            analysis = ancova_analysis(arm="ARM", baseline="BASEALS", visit=target, reference=self.reference)
            out[method] = clean_json(analyse_imputed(imputed, analysis).to_dict())
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
        result = random_slope_model(
            ds.adqs, subject="USUBJID", time="ADY", score="AVAL", arm="ARM", reference=self.reference, time_unit="days"
        )
        return EndpointOutcome(endpoint, result)

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

"""The analyses a power study can run on each simulated trial, by name.

Each analysis is the protocol's own analysis-plan code (``alstrial.analysis.plan``) applied to
the simulated trial's analysis datasets, reduced to one row: estimate, standard error, p value.
Nothing here re-implements a statistic. Rejection is two-sided at the protocol's alpha: a
significant result in the harmful direction counts too (the estimate's sign is kept in the
per-replicate results for anyone who wants one-sided power).

These per-trial runners are the reference definitions. ``replicates.run_chunk`` computes the MMRM
primary analyses (``stats.mmrm.batch``) and, from array-simulated trials, the three responder
analyses and ``cafs`` (``array_analyses``) by faster routes that tests check against these runners.

Each simulated trial carries the intercurrent events its sites would have recorded
(``design.cohort_datasets.adice_from_cohort``), so the estimands' strategies act as in the real
trial: values after permanent ventilation set aside for the MMRM, death or ventilation before the
primary visit a non-response.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from alstrial.analysis.datasets import AnalysisDatasets
from alstrial.analysis.plan import AnalysisPlan
from alstrial.analysis.slope_rule import slope_rule
from alstrial.design.power.scenarios import PowerError
from alstrial.errors import AlstrialError
from alstrial.protocol.models import Endpoint, Protocol
from alstrial.stats.responder import responder_analysis


@dataclass(frozen=True)
class Outcome:
    """One analysis of one simulated trial."""

    estimate: float
    std_error: float
    p_value: float
    rate_control: float = float("nan")  # responder proportions (responder analyses only)
    rate_active: float = float("nan")


Runner = Callable[[AnalysisPlan, AnalysisDatasets], Outcome]


def _endpoint(protocol: Protocol, method: str) -> Endpoint:
    found = next((e for e in protocol.endpoints if e.method == method), None)
    if found is None:
        raise PowerError(f"protocol {protocol.id!r} has no endpoint with method {method!r} to simulate")
    return found


def _mmrm(df: str | None) -> Runner:
    def run(plan: AnalysisPlan, ds: AnalysisDatasets) -> Outcome:
        endpoint = _endpoint(plan.protocol, "mmrm_change")
        if df is not None:
            endpoint = endpoint.model_copy(update={"parameters": {**endpoint.parameters, "df": df}})
        adqs, _ = plan._adqs_for(endpoint, ds)
        r = plan.mmrm_change(endpoint, adqs, ds)
        return Outcome(r.difference, r.std_error, r.p_value)

    return run


def _multiple_imputation(method: str) -> Runner:
    def run(plan: AnalysisPlan, ds: AnalysisDatasets) -> Outcome:
        endpoint = _endpoint(plan.protocol, "mmrm_change")
        estimand = plan.protocol.estimand_for(endpoint.id)
        # the plan runs the sensitivity methods its estimand lists: list only this one
        if estimand is not None:
            only = estimand.model_copy(update={"sensitivity": [f"mi_{method}"]})
            estimands = [only if e is estimand else e for e in plan.protocol.estimands]
            plan = AnalysisPlan(
                plan.protocol.model_copy(update={"estimands": estimands}),
                seed=plan.seed,
                imputations=plan.imputations,
                adice=plan.adice,
            )
        adqs, _ = plan._adqs_for(endpoint, ds)
        r = plan._sensitivity(ds, endpoint, adqs)[method]
        return Outcome(r["estimate"], r["std_error"], r["p_value"])

    return run


def _responder(*, adjusted: bool, missing: str | None = None) -> Runner:
    def run(plan: AnalysisPlan, ds: AnalysisDatasets) -> Outcome:
        endpoint = _endpoint(plan.protocol, "responder")
        frame, covariates = plan.responder_frame(ds, endpoint)
        r = responder_analysis(
            frame,
            arm="ARM",
            slope_change="SLOPECHG",
            covariates=covariates if adjusted else (),
            threshold=float(endpoint.parameters.get("threshold_points_per_month", 1.25)),
            reference=plan.reference,
            missing=missing or slope_rule(plan.protocol).missing_post,  # type: ignore[arg-type]
        )
        rates = r.proportions.set_index("arm")["proportion"]
        return Outcome(r.log_odds_ratio, r.std_error, r.p_value, float(rates.iloc[0]), float(rates.iloc[1]))

    return run


def _cafs(plan: AnalysisPlan, ds: AnalysisDatasets) -> Outcome:
    r = plan._cafs(_endpoint(plan.protocol, "cafs"), ds).result
    return Outcome(r.statistic, r.variance**0.5, r.p_value)


def _slope(plan: AnalysisPlan, ds: AnalysisDatasets) -> Outcome:
    r = plan._slope(_endpoint(plan.protocol, "slope"), ds).result
    return Outcome(r.slope_difference, r.std_error, r.p_value)


@dataclass(frozen=True)
class Analysis:
    name: str
    description: str
    run: Runner

    @property
    def method(self) -> str:
        """The protocol endpoint method this analysis needs (``mmrm_change``, ``responder``, ...)."""
        return "mmrm_change" if self.name.startswith("mmrm") else self.name.split("_")[0]


ANALYSES: dict[str, Analysis] = {
    a.name: a
    for a in (
        Analysis("mmrm", "MMRM change from baseline at the primary visit (the protocol's df method)", _mmrm(None)),
        Analysis("mmrm_satterthwaite", "the same MMRM with Satterthwaite df (sensitivity)", _mmrm("satterthwaite")),
        Analysis(
            "mmrm_mi_mar", "ANCOVA after multiple imputation under MAR (sensitivity; slow)", _multiple_imputation("mar")
        ),
        Analysis(
            "mmrm_mi_j2r",
            "ANCOVA after jump-to-reference imputation (sensitivity; slow)",
            _multiple_imputation("jump_to_reference"),
        ),
        Analysis(
            "responder", "responder logistic regression with the protocol's covariates", _responder(adjusted=True)
        ),
        Analysis(
            "responder_unadjusted",
            "responder logistic regression on arm only (sensitivity)",
            _responder(adjusted=False),
        ),
        Analysis(
            "responder_nonresponder",
            "responder analysis counting a missing slope as non-response (sensitivity)",
            _responder(adjusted=True, missing="nonresponder"),
        ),
        Analysis("cafs", "combined assessment of function and survival (Finkelstein-Schoenfeld)", _cafs),
        Analysis("slope", "random-slope linear mixed model, difference in slopes (slow)", _slope),
    )
}
DEFAULT_ANALYSES = ("mmrm", "responder", "cafs")


def parse_analyses(text: str | None) -> tuple[str, ...]:
    """``"mmrm,responder"`` -> ``("mmrm", "responder")``; unknown names are a :class:`PowerError`."""
    if text is None:
        return DEFAULT_ANALYSES
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in ANALYSES]
    if unknown or not names:
        given = ", ".join(map(repr, unknown)) or "(none given)"
        raise PowerError(f"unknown analysis {given}: expected some of {', '.join(ANALYSES)}")
    return names


def run_analysis(name: str, plan: AnalysisPlan, ds: AnalysisDatasets) -> dict[str, Any]:
    """One analysis as a result row; a fit that fails is recorded with its error and rejects nothing."""
    return guarded(name, lambda: ANALYSES[name].run(plan, ds))


def guarded(name: str, compute: Callable[[], Outcome]) -> dict[str, Any]:
    """``compute()`` as analysis ``name``'s result row; a fit that fails gives NaN and its error."""
    nan = float("nan")
    try:
        out = compute()
    except PowerError:
        raise
    except (AlstrialError, ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        out, error = Outcome(nan, nan, nan), f"{type(exc).__name__}: {exc}"[:500]
    else:
        error = ""
    return {
        "analysis": name,
        "estimate": float(out.estimate),
        "std_error": float(out.std_error),
        "p_value": float(out.p_value),
        "rate_control": float(out.rate_control),
        "rate_active": float(out.rate_active),
        "error": error,
    }


def check_analyses(protocol: Protocol, names: tuple[str, ...]) -> None:
    """Refuse, before anything runs, an analysis whose endpoint the protocol does not define."""
    have = {e.method for e in protocol.endpoints}
    missing = [n for n in names if ANALYSES[n].method not in have]
    if missing:
        raise PowerError(
            f"analysis {', '.join(missing)} needs an endpoint the protocol {protocol.id!r} does not define "
            f"(its endpoint methods: {', '.join(sorted(have)) or 'none'})"
        )

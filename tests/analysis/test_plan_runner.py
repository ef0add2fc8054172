"""The plan runner: engine failures and warnings stay with their endpoint; results become clean JSON."""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alstrial.analysis import plan as plan_module
from alstrial.analysis.datasets import AnalysisDatasets
from alstrial.analysis.plan import AnalysisPlan, EndpointOutcome, clean_json
from alstrial.design.cohort_datasets import datasets_from_cohort
from alstrial.protocol import load_protocol
from alstrial.protocol.models import Protocol
from alstrial.protocol.simulation import SimulationParams
from alstrial.simulate.cohort import simulate_cohort
from alstrial.stats.endpoint_data import EndpointDataError


@pytest.fixture(scope="module")
def protocol() -> Protocol:
    full = load_protocol()
    keep = [e for e in full.endpoints if e.method in ("slope", "survival", "biomarker")]
    return full.model_copy(update={"endpoints": keep})


@pytest.fixture(scope="module")
def datasets(protocol: Protocol) -> AnalysisDatasets:
    cohort = simulate_cohort(SimulationParams(), n=60, seed=21, arms=("PBO", "MSC"), control_arm="PBO")
    return datasets_from_cohort(cohort, protocol)


@pytest.fixture(scope="module")
def outcomes(protocol: Protocol, datasets: AnalysisDatasets) -> list[EndpointOutcome]:
    return AnalysisPlan(protocol, imputations=2).run(datasets)


def test_every_endpoint_with_an_engine_gets_an_outcome(outcomes: list[EndpointOutcome]) -> None:
    full = load_protocol()
    assert [o.endpoint.id for o in outcomes] == ["SLOPE", "SURV", "CSF_BIOMARKERS"]
    assert all(o.error is None and o.result is not None for o in outcomes)
    # the reference arm is the protocol's control arm
    assert AnalysisPlan(full).reference == "PBO"
    assert AnalysisPlan(full).primary_visit == "W28" and AnalysisPlan(full).baseline_visit == "W0"


@pytest.mark.parametrize(
    "exc", [ValueError("boom"), EndpointDataError("too little data"), np.linalg.LinAlgError("sing")]
)
def test_a_failing_engine_is_reported_and_the_others_still_run(
    protocol: Protocol, datasets: AnalysisDatasets, monkeypatch: pytest.MonkeyPatch, exc: Exception
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise exc

    monkeypatch.setattr(plan_module, "random_slope_model", broken)
    outcomes = {o.endpoint.id: o for o in AnalysisPlan(protocol, imputations=2).run(datasets)}
    slope = outcomes["SLOPE"]
    assert slope.result is None
    assert slope.error == f"{type(exc).__name__}: {exc}"
    d = slope.to_dict()
    assert d["error"] == slope.error and "result" not in d and d["name"] == slope.endpoint.name
    assert outcomes["SURV"].error is None and outcomes["SURV"].result is not None
    assert outcomes["CSF_BIOMARKERS"].error is None and set(outcomes["CSF_BIOMARKERS"].result) == {
        "NFL",
        "VEGF",
        "MCP1",
    }


def test_warnings_are_captured_per_endpoint_and_not_leaked(
    protocol: Protocol, datasets: AnalysisDatasets, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = plan_module.survival_analysis

    def noisy(*args: Any, **kwargs: Any) -> Any:
        warnings.warn("the fit did not converge", RuntimeWarning, stacklevel=1)
        warnings.warn("the fit did not converge", RuntimeWarning, stacklevel=1)  # duplicates are kept once
        warnings.warn("ties handled by Efron", UserWarning, stacklevel=1)
        return real(*args, **kwargs)

    monkeypatch.setattr(plan_module, "survival_analysis", noisy)
    quick = protocol.model_copy(update={"endpoints": [e for e in protocol.endpoints if e.method != "slope"]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a leaked warning would fail here
        outcomes = {o.endpoint.id: o for o in AnalysisPlan(quick, imputations=2).run(datasets)}
    surv = outcomes["SURV"]
    injected = ("RuntimeWarning: the fit did not converge", "UserWarning: ties handled by Efron")
    # the injected warnings are captured once each, in order; the real fit may add its own (e.g. a
    # convergence warning on this small simulated cohort), also each once
    assert tuple(w for w in surv.warnings if w in injected) == injected
    assert len(set(surv.warnings)) == len(surv.warnings)
    assert surv.error is None and surv.to_dict()["warnings"] == list(surv.warnings)
    bio = outcomes["CSF_BIOMARKERS"]
    assert bio.warnings == () and "warnings" not in bio.to_dict()


def test_the_safety_endpoint_summarises_adverse_events(datasets: AnalysisDatasets) -> None:
    full = load_protocol()
    only_safety = full.model_copy(update={"endpoints": [e for e in full.endpoints if e.method == "safety"]})
    (outcome,) = AnalysisPlan(only_safety).run(datasets)
    assert outcome.error is None
    assert set(outcome.to_dict()["result"]["safety_set"]) == {a.code for a in full.arms}


def test_outcomes_serialise_to_strict_json(outcomes: list[EndpointOutcome]) -> None:
    for o in outcomes:
        json.dumps(o.to_dict(), allow_nan=False)


class _HasToDict:
    def to_dict(self) -> dict[str, Any]:
        return {"x": np.float32(0.5), "nan": float("nan")}


def test_clean_json_makes_values_json_safe() -> None:
    value = {
        "nan": np.float64("nan"),
        "inf": float("inf"),
        "minus_inf": np.float32("-inf"),
        "int": np.int64(3),
        "bool": np.bool_(True),
        "array": np.array([1.5, np.nan]),
        "frame": pd.DataFrame({"a": [1, 2], "b": [0.25, np.nan]}),
        "series": pd.Series({"u": np.int64(1), "v": np.nan}),
        "tuple": (np.int32(1), "s", None),
        "result": _HasToDict(),
        7: 1.23456789012345678,
    }
    out = clean_json(value)
    assert out == {
        "nan": None,
        "inf": None,
        "minus_inf": None,
        "int": 3,
        "bool": True,
        "array": [1.5, None],
        "frame": [{"a": 1, "b": 0.25}, {"a": 2, "b": None}],
        "series": {"u": 1.0, "v": None},
        "tuple": [1, "s", None],
        "result": {"x": 0.5, "nan": None},
        "7": 1.234567890,
    }
    assert type(out["int"]) is int and type(out["bool"]) is bool and type(out["tuple"][0]) is int
    json.dumps(out, allow_nan=False)
    assert clean_json(np.float64(2.0 / 3.0), digits=3) == 0.667

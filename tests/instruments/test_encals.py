"""ENCALS / TRICALS linear predictor and survival (Westeneng 2018; coefficients [C], as transcribed in
validation/reference/alsfrs_staging_encals.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alstrial.instruments import encals
from alstrial.instruments.encals import (
    EncalsInputError,
    encals_linear_predictor,
    encals_survival,
    tricals_linear_predictor,
)

PATIENT = dict(
    age_at_onset_years=55.0,
    diagnostic_delay_months=12.0,
    delta_fs=0.5,
    fvc_percent_predicted=90.0,
    bulbar_onset=False,
    definite_als=True,
    ftd=False,
)


def test_docstring_says_research_use_and_unconfirmed_time_scale() -> None:
    doc = encals.__doc__ or ""
    assert "not for clinical decisions" in doc
    assert "[C]" in doc and "[M]" in doc and "unconfirmed" in doc


def test_linear_predictor_by_hand() -> None:
    # Transforms written out independently of the module (validation/reference/alsfrs_staging_encals.md).
    t_slope = 1 / math.sqrt(0.5 + 0.1)
    t_delay = 1 / math.sqrt(1.2) + math.log(1.2)
    t_age = 1 / 0.55**2
    t_fvc = 1 / 0.9 + 1 / math.sqrt(0.9)
    enc = -1.837 * t_slope - 2.373 * t_delay - 0.267 * t_age + 0.477 * t_fvc + 0.233
    tri = -1.839 * t_slope - 2.376 * t_delay - 0.264 * t_age + 0.474 * t_fvc + 0.238
    assert encals_linear_predictor(**PATIENT, c9orf72=False) == pytest.approx(enc, abs=1e-12)
    assert encals_linear_predictor(**PATIENT, c9orf72=True) == pytest.approx(enc + 0.256, abs=1e-12)
    assert tricals_linear_predictor(**PATIENT) == pytest.approx(tri, abs=1e-12)
    assert encals_linear_predictor(**PATIENT, variant="tricals") == tricals_linear_predictor(**PATIENT)
    # this typical patient sits inside the example TRICALS eligibility window −6 ≤ LP ≤ −2
    assert -6 <= tri <= -2


def test_worse_predictors_raise_the_linear_predictor() -> None:
    base = tricals_linear_predictor(**PATIENT)
    assert tricals_linear_predictor(**{**PATIENT, "delta_fs": 1.5}) > base
    assert tricals_linear_predictor(**{**PATIENT, "diagnostic_delay_months": 6}) > base
    assert tricals_linear_predictor(**{**PATIENT, "fvc_percent_predicted": 60}) > base
    assert tricals_linear_predictor(**{**PATIENT, "bulbar_onset": True}) == pytest.approx(base + 0.271)
    assert tricals_linear_predictor(**{**PATIENT, "ftd": 1}) == pytest.approx(base + 0.415)


def test_spline_lambdas_match_knots() -> None:
    for k, lam in ((encals._K1, encals._LAMBDA1), (encals._K2, encals._LAMBDA2)):
        assert (encals._KMAX - k) / (encals._KMAX - encals._KMIN) == pytest.approx(lam, abs=1e-6)


def test_survival_before_the_first_knot_is_the_linear_baseline() -> None:
    # At t = 1 month, ln t = 0 < kmin, so every spline term is 0 and s = γ0.
    lp = -4.0
    assert encals_survival(1.0, lp) == pytest.approx(1 / (1 + math.exp(-6.409 + lp)), rel=1e-12)
    # Between kmin and k1 only the kmin cubes act: v_j = −λ_j (x − kmin)^3.
    t = 10.0
    x = math.log(t)
    s = -6.409 + 2.643 * x - 0.546 * (-0.481323 * (x - 0.081) ** 3) + 0.585 * (-0.390507 * (x - 0.081) ** 3)
    assert encals_survival(t, lp) == pytest.approx(1 / (1 + math.exp(s + lp)), rel=1e-12)


def test_survival_is_a_decreasing_probability_in_time_and_lp() -> None:
    t = np.linspace(0.5, 200, 400)
    for lp in (-7.0, -4.5, -2.0):
        s = encals_survival(t, lp)
        assert isinstance(s, np.ndarray) and s.shape == t.shape
        assert ((s > 0) & (s < 1)).all()
        assert (np.diff(s) < 0).all()
    assert encals_survival(24.0, -3.0) < encals_survival(24.0, -5.0)
    assert isinstance(encals_survival(24.0, -3.0), float)
    grid = encals_survival(np.array([[12.0], [36.0]]), np.array([-5.0, -3.0]))
    assert grid.shape == (2, 2)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"age_at_onset_years": 0}, "age_at_onset_years must be a positive"),
        ({"age_at_onset_years": True}, "not a boolean"),
        ({"age_at_onset_years": 130}, "at most 120"),
        ({"diagnostic_delay_months": -1}, "diagnostic_delay_months"),
        ({"fvc_percent_predicted": 0.85 * 1000}, "% predicted"),
        ({"fvc_percent_predicted": "high"}, "fvc_percent_predicted must be a number"),
        ({"delta_fs": -0.3}, "delta_fs must be a finite number ≥ 0"),
        ({"delta_fs": float("nan")}, "delta_fs"),
        ({"bulbar_onset": 2}, "bulbar_onset must be True/False"),
        ({"ftd": None}, "ftd must be True/False"),
    ],
)
def test_linear_predictor_validates_inputs(changes: dict[str, object], match: str) -> None:
    with pytest.raises(EncalsInputError, match=match):
        encals_linear_predictor(**{**PATIENT, **changes}, c9orf72=False)  # type: ignore[arg-type]


def test_variant_and_c9orf72_must_agree() -> None:
    with pytest.raises(EncalsInputError, match="needs c9orf72"):
        encals_linear_predictor(**PATIENT)
    with pytest.raises(EncalsInputError, match="without C9orf72"):
        encals_linear_predictor(**PATIENT, c9orf72=True, variant="tricals")
    with pytest.raises(EncalsInputError, match="expected 'encals' or 'tricals' \\(not 'roche'\\)"):
        encals_linear_predictor(**PATIENT, c9orf72=True, variant="roche")  # type: ignore[arg-type]


@pytest.mark.parametrize(("t", "lp"), [(0.0, -3.0), (-5.0, -3.0), (np.array([1.0, np.nan]), -3.0), (12.0, np.inf)])
def test_survival_validates_inputs(t: object, lp: object) -> None:
    with pytest.raises(EncalsInputError):
        encals_survival(t, lp)  # type: ignore[call-overload]

"""ENCALS survival model (Westeneng et al., Lancet Neurol 2018) and the TRICALS risk profile.

.. warning::
   **Research use only — not for clinical decisions.** The coefficients below come from
   public R code that agrees with the publication [C]; the paper's supplement was not read.
   The time unit of the baseline (assumed months) and its origin (symptom onset or diagnosis)
   are **unconfirmed** [M]. Use it to describe or stratify a cohort, e.g. checking a TRICALS
   eligibility window, never to tell a patient how long they will live.

Model: Royston–Parmar flexible parametric proportional-odds model for the composite endpoint
(death, tracheostomy or NIV > 23 h/day), ``S(t | LP) = 1 / (1 + exp(s(ln t) + LP))`` where
``s`` is a restricted cubic spline of ln t. A higher LP means worse prognosis.

Transformed predictors (as in the public code):

- tSLOPE = (ΔFS + 0.1)^−0.5, ΔFS = (48 − ALSFRS-R) / months since onset (positive)
- tDXDELAY = (delay/10)^−0.5 + ln(delay/10), delay in months from onset to diagnosis
- tAGE = (age at onset / 100)^−2
- tFVC = (FVC%/100)^−1 + (FVC%/100)^−0.5

The spline basis here uses the textbook ``(x − kmax)³₊`` term; the public code omits that
cube, which changes results only for t > e^5.917 ≈ 371 months.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, overload

import numpy as np

from alstrial.errors import AlstrialError

__all__ = [
    "ENCALS",
    "TRICALS",
    "EncalsCoefficients",
    "EncalsInputError",
    "encals_linear_predictor",
    "encals_survival",
    "tricals_linear_predictor",
]

Variant = Literal["encals", "tricals"]


class EncalsInputError(AlstrialError, ValueError):
    """A predictor value is outside what the ENCALS model accepts."""


@dataclass(frozen=True)
class EncalsCoefficients:
    """Linear-predictor coefficients of one variant."""

    name: str
    slope: float
    dx_delay: float
    age: float
    fvc: float
    bulbar: float
    definite: float
    ftd: float
    c9orf72: float | None


#: Full ENCALS model (with C9orf72 repeat expansion) [C].
ENCALS = EncalsCoefficients("ENCALS", -1.837, -2.373, -0.267, 0.477, 0.269, 0.233, 0.388, 0.256)
#: TRICALS Risk Profile: same model refitted without C9orf72, used for trial eligibility [C].
TRICALS = EncalsCoefficients("TRICALS", -1.839, -2.376, -0.264, 0.474, 0.271, 0.238, 0.415, None)

# Baseline spline in x = ln(t) [C]
_GAMMA0, _GAMMA1, _GAMMA_V1, _GAMMA_V2 = -6.409, 2.643, -0.546, 0.585
_KMIN, _K1, _K2, _KMAX = 0.081, 3.108, 3.638, 5.917
#: The λ_j published with the code equal (kmax − k_j)/(kmax − kmin); kept literal for fidelity.
_LAMBDA1, _LAMBDA2 = 0.481323, 0.390507


def _positive(name: str, value: float, unit: str) -> float:
    if isinstance(value, bool):
        raise EncalsInputError(f"{name} must be a number in {unit}, not a boolean ({value!r})")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise EncalsInputError(f"{name} must be a number in {unit} (not {value!r})") from None
    if not math.isfinite(x) or x <= 0:
        raise EncalsInputError(f"{name} must be a positive finite number in {unit} (not {value!r})")
    return x


def _flag(name: str, value: object) -> int:
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, int | np.integer) and int(value) in (0, 1):
        return int(value)
    raise EncalsInputError(f"{name} must be True/False (or 1/0), not {value!r}")


def encals_linear_predictor(
    *,
    age_at_onset_years: float,
    diagnostic_delay_months: float,
    delta_fs: float,
    fvc_percent_predicted: float,
    bulbar_onset: bool,
    definite_als: bool,
    ftd: bool,
    c9orf72: bool | None = None,
    variant: Variant = "encals",
) -> float:
    """ENCALS linear predictor (higher = worse prognosis). Research use only; see module warning.

    ``delta_fs`` is Kimura's ΔFS in points/month, positive = decline
    (:func:`alstrial.instruments.progression.delta_fs`). ``definite_als`` is definite ALS by the
    revised El Escorial criteria. ``variant="encals"`` needs ``c9orf72``; ``variant="tricals"``
    (the TRICALS Risk Profile) must not be given it, because that model was fitted without it.
    """
    if variant not in ("encals", "tricals"):
        raise EncalsInputError(f"invalid value for variant, expected 'encals' or 'tricals' (not {variant!r})")
    age = _positive("age_at_onset_years", age_at_onset_years, "years")
    if age > 120:
        raise EncalsInputError(f"age_at_onset_years must be at most 120 (not {age_at_onset_years!r})")
    delay = _positive("diagnostic_delay_months", diagnostic_delay_months, "months")
    fvc = _positive("fvc_percent_predicted", fvc_percent_predicted, "% predicted")
    if fvc > 250:
        raise EncalsInputError(
            f"fvc_percent_predicted looks like a fraction or litres error: expected % predicted "
            f"(e.g. 85), at most 250 (not {fvc_percent_predicted!r})"
        )
    try:
        dfs = float(delta_fs)
    except (TypeError, ValueError):
        raise EncalsInputError(f"delta_fs must be a number in points/month (not {delta_fs!r})") from None
    if not math.isfinite(dfs) or dfs < 0:
        raise EncalsInputError(
            f"delta_fs must be a finite number ≥ 0 (Kimura's ΔFS, positive = decline) (not {delta_fs!r})"
        )
    coef = ENCALS if variant == "encals" else TRICALS
    if variant == "encals" and c9orf72 is None:
        raise EncalsInputError("the ENCALS variant needs c9orf72 (True/False); use variant='tricals' without it")
    if variant == "tricals" and c9orf72 is not None:
        raise EncalsInputError("the TRICALS variant was fitted without C9orf72; do not pass c9orf72")

    t_slope = (dfs + 0.1) ** -0.5
    t_delay = (delay / 10) ** -0.5 + math.log(delay / 10)
    t_age = (age / 100) ** -2
    t_fvc = (fvc / 100) ** -1 + (fvc / 100) ** -0.5
    lp = (
        coef.slope * t_slope
        + coef.dx_delay * t_delay
        + coef.age * t_age
        + coef.fvc * t_fvc
        + coef.bulbar * _flag("bulbar_onset", bulbar_onset)
        + coef.definite * _flag("definite_als", definite_als)
        + coef.ftd * _flag("ftd", ftd)
    )
    if coef.c9orf72 is not None:
        lp += coef.c9orf72 * _flag("c9orf72", c9orf72)
    return lp


def tricals_linear_predictor(
    *,
    age_at_onset_years: float,
    diagnostic_delay_months: float,
    delta_fs: float,
    fvc_percent_predicted: float,
    bulbar_onset: bool,
    definite_als: bool,
    ftd: bool,
) -> float:
    """TRICALS Risk Profile: :func:`encals_linear_predictor` with ``variant="tricals"``."""
    return encals_linear_predictor(
        age_at_onset_years=age_at_onset_years,
        diagnostic_delay_months=diagnostic_delay_months,
        delta_fs=delta_fs,
        fvc_percent_predicted=fvc_percent_predicted,
        bulbar_onset=bulbar_onset,
        definite_als=definite_als,
        ftd=ftd,
        variant="tricals",
    )


def _cube_plus(z: np.ndarray) -> np.ndarray:
    return np.where(z > 0, z, 0.0) ** 3


def baseline_spline(x: np.ndarray) -> np.ndarray:
    """s(x), the baseline log-odds of the event at x = ln(t months)."""
    v1 = _cube_plus(x - _K1) - _LAMBDA1 * _cube_plus(x - _KMIN) - (1 - _LAMBDA1) * _cube_plus(x - _KMAX)
    v2 = _cube_plus(x - _K2) - _LAMBDA2 * _cube_plus(x - _KMIN) - (1 - _LAMBDA2) * _cube_plus(x - _KMAX)
    return np.asarray(_GAMMA0 + _GAMMA1 * x + _GAMMA_V1 * v1 + _GAMMA_V2 * v2)


@overload
def encals_survival(t_months: float, lp: float) -> float: ...
@overload
def encals_survival(t_months: np.ndarray, lp: float | np.ndarray) -> np.ndarray: ...
def encals_survival(t_months: float | np.ndarray, lp: float | np.ndarray) -> float | np.ndarray:
    """Probability of being event-free (no death, tracheostomy or NIV > 23 h/day) at ``t_months``.

    Research use only (see module warning): the time unit (months) and origin (onset vs
    diagnosis) are unconfirmed [M]. Accepts scalars or arrays (broadcast together).
    """
    t = np.asarray(t_months, dtype=float)
    eta = np.asarray(lp, dtype=float)
    if not np.isfinite(t).all() or (t <= 0).any():
        raise EncalsInputError(f"t_months must be positive finite times in months (not {t_months!r})")
    if not np.isfinite(eta).all():
        raise EncalsInputError(f"lp must be a finite linear predictor (not {lp!r})")
    s = 1.0 / (1.0 + np.exp(baseline_spline(np.log(t)) + eta))
    if s.ndim == 0:
        return float(s)
    return s

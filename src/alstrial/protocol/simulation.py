"""The protocol file's ``[simulation]`` section: every parameter of the ALS trial simulator.

Defaults are the calibrated values (see ``alstrial simulate --calibration``): with them the
*eligible* simulated population reproduces the seed trial's baseline table and the PRO-ACT
natural history. Units are in the field names (``_months``, ``_days``, ``_pct``, ``_pg_ml``,
``_per_month``). This module imports nothing of alstrial's, only pydantic and the stdlib.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DropoutMechanism = Literal["mcar", "mar", "mnar"]
DROPOUT_REASONS = (
    "withdrawal_by_subject",
    "adverse_event",
    "lost_to_follow_up",
    "physician_decision",
)
EL_ESCORIAL_CATEGORIES = ("possible", "lab_supported_probable", "probable", "definite")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _check_weights(name: str, weights: dict[str, float], allowed: tuple[str, ...]) -> dict[str, float]:
    unknown = sorted(set(weights) - set(allowed))
    if unknown:
        raise ValueError(f"{name}: unknown key(s) {unknown!r}, expected some of {list(allowed)!r}")
    bad = {k: v for k, v in weights.items() if v < 0}
    if bad:
        raise ValueError(f"{name}: weights must be >= 0 (not {bad!r})")
    if sum(weights.values()) <= 0:
        raise ValueError(f"{name}: weights must not all be zero (got {weights!r})")
    return weights


class PopulationParams(_Section):
    """Demographics and disease history of the *screened candidates* (before eligibility)."""

    age_mean_years: float = Field(54.0, ge=0, le=100)
    age_sd_years: float = Field(12.5, gt=0)
    age_min_years: float = Field(18.0, ge=0, description="youngest candidate a site would screen")
    age_max_years: float = Field(61.0, le=110, description="oldest candidate a site would screen")
    female_fraction: float = Field(0.34, ge=0, le=1)
    limb_onset_fraction: float = Field(0.79, ge=0, le=1, description="else bulbar onset")
    upper_limb_first_fraction: float = Field(
        0.5, ge=0, le=1, description="among limb onsets, arms (items 4-6) before legs (7-9)"
    )
    riluzole_fraction: float = Field(0.64, ge=0, le=1)
    prior_stem_cell_fraction: float = Field(0.01, ge=0, le=1)
    el_escorial_weights: dict[str, float] = Field(
        default_factory=lambda: {
            "possible": 0.065,
            "lab_supported_probable": 0.2,
            "probable": 0.29,
            "definite": 0.445,
        }
    )
    onset_to_screening_mean_months: float = Field(20.5, gt=0)
    onset_to_screening_sd_months: float = Field(5.5, gt=0)
    onset_to_screening_min_months: float = Field(3.0, gt=0)
    onset_to_screening_max_months: float = Field(30.0, gt=0)
    diagnostic_delay_median_months: float = Field(11.5, gt=0, description="onset to diagnosis")
    diagnostic_delay_sigma_log: float = Field(0.45, ge=0)
    n_sites: int = Field(6, ge=1)
    # Referral: the trial's own published criteria (CT.gov NCT03280056: ALSFRS-R >= 25, SVC >= 65 %,
    # onset within 24 months, a >= 3-point decline) applied by sites to their two latest routine clinic
    # visits before screening, rated with the trial's measurement model (simulate/SOURCES.md).
    referral_min_total: float = Field(
        25.0, ge=0, le=48, description="last clinic ALSFRS-R at least this (CT.gov: ALSFRS-R >= 25)"
    )
    referral_min_svc_pct: float = Field(65.0, ge=0, description="last clinic SVC at least this (CT.gov: >= 65 %)")
    referral_min_recent_decline_points: float = Field(
        3.0,
        description=(
            "clinic ALSFRS-R decline between the two latest clinic visits, scaled to"
            " referral_decline_window_days, at least this (the protocol's 'rapid progressors': >= 3 points)"
        ),
    )
    referral_min_dfs_per_month: float = Field(
        0.0,
        ge=0,
        description=(
            "(48 - last clinic ALSFRS-R) / months since onset (ΔFS) at least this. Off by default: the"
            " protocol's 'rapid progressors' are defined by its >= 3-point pre-treatment decline (CT.gov), and a"
            " ΔFS cut-off (Kimura 2006: 0.67) narrows the baseline spread below Cudkowicz 2022 Table 1 and"
            " flattens the placebo change by baseline (simulate/SOURCES.md). Design scenarios may enrich on it"
        ),
    )
    referral_decline_window_days: float = Field(
        91.0, gt=0, description="the window the protocol's decline refers to (the ~3-month screening period)"
    )
    referral_clinic_interval_days: float = Field(
        91.0,
        gt=0,
        description=(
            "days between routine ALS clinic visits (multidisciplinary clinics see patients about every 3"
            " months); screening falls uniformly within the interval after the last one"
        ),
    )
    referral_max_months_since_onset: float = Field(24.0, gt=0, description="CT.gov: onset within 24 months")

    @field_validator("el_escorial_weights")
    @classmethod
    def _el_escorial(cls, v: dict[str, float]) -> dict[str, float]:
        return _check_weights("el_escorial_weights", v, EL_ESCORIAL_CATEGORIES)

    @model_validator(mode="after")
    def _ranges(self) -> PopulationParams:
        if self.age_min_years >= self.age_max_years:
            raise ValueError(
                f"age_min_years ({self.age_min_years!r}) must be below age_max_years ({self.age_max_years!r})"
            )
        if self.onset_to_screening_min_months >= self.onset_to_screening_max_months:
            raise ValueError(
                "onset_to_screening_min_months "
                f"({self.onset_to_screening_min_months!r}) must be below onset_to_screening_max_months "
                f"({self.onset_to_screening_max_months!r})"
            )
        return self


class DomainDelays(_Section):
    """Disease time (rate-months) after onset at which each ALSFRS-R domain starts to decline."""

    bulbar: float = Field(ge=0)
    fine_motor: float = Field(ge=0)
    gross_motor: float = Field(ge=0)
    respiratory: float = Field(ge=0)


class ProgressionParams(_Section):
    """Latent progression: disease clock tau(t) = rate * (t + curvature * t^2 / 2), t in months.

    t is *effective* months since onset: calendar time weighted by a short-term speed multiplier
    exp(sd * X - sd^2 / 2) (mean 1), X a stationary Gaussian AR(1) with the given correlation
    time. Candidates who pass a run-in decline criterion tend to be in a fast spell and slow down
    afterwards: the regression to the mean seen in real run-in designs.

    Item k loses ``item_rate * (tau - delay_k)`` points once tau passes its delay; the delay order
    depends on the onset region, so bulbar onset hits items 1-3 first and limb onset items 4-9.
    """

    rate_median_per_month: float = Field(0.42, gt=0, description="median disease-clock speed")
    rate_sigma_log: float = Field(0.8, ge=0, description="SD of log rate between participants")
    speed_fluctuation_sd_log: float = Field(
        0.0,
        ge=0,
        description=(
            "SD of the log of a short-term multiplier on the clock speed (stationary AR(1)/OU process)."
            " Off by default: with selection on it the placebo curve bends upwards (decelerates) after the"
            " run-in, against the slightly accelerating trajectories of Thakore 2018"
        ),
    )
    speed_fluctuation_months: float = Field(
        12.0, gt=0, description="correlation time of that multiplier: spells of fast progression last this long"
    )
    speed_fluctuation_step_days: float = Field(
        14.0, gt=0, le=92, description="the multiplier is constant over steps of this length (then jumps)"
    )
    curvature_mean_per_month: float = Field(0.0, description="Thakore 2018: slightly accelerating")
    curvature_sd_per_month: float = Field(0.01, ge=0)
    bulbar_item_rate_points: float = Field(0.28, gt=0, description="points per rate-month, items 1-3")
    fine_motor_item_rate_points: float = Field(0.42, gt=0, description="items 4-6")
    gross_motor_item_rate_points: float = Field(0.42, gt=0, description="items 7-9")
    respiratory_item_rate_points: float = Field(0.13, gt=0, description="items 10-11 (least steep)")
    item_rate_sigma_log: float = Field(0.25, ge=0, description="within-participant item rate spread")
    item_delay_sd_months: float = Field(1.5, ge=0, description="within-participant item delay spread")
    domain_delay_sigma_log: float = Field(
        1.2,
        ge=0,
        description=(
            "SD of the log of a per-participant factor on each domain's onset delay (spread order and"
            " timing vary between participants; the onset region always starts at 0)"
        ),
    )
    domain_rate_sigma_log: float = Field(
        0.7, ge=0, description="SD of the log of a per-participant speed factor shared by a domain's items"
    )
    delays_bulbar_onset: DomainDelays = DomainDelays(bulbar=0, fine_motor=6, gross_motor=8, respiratory=6)
    delays_upper_limb_onset: DomainDelays = DomainDelays(bulbar=16, fine_motor=0, gross_motor=2, respiratory=12)
    delays_lower_limb_onset: DomainDelays = DomainDelays(bulbar=16, fine_motor=2, gross_motor=0, respiratory=12)
    rater_noise_sd_points: float = Field(
        0.15, ge=0, description="SD added to each latent item before rounding (occasional +-1)"
    )
    visit_noise_sd_points: float = Field(
        0.07,
        ge=0,
        description=(
            "scale of a visit-level shock shared by all items (rater, day, fatigue), Student-t distributed;"
            " sized with rater_noise_sd_points so that two same-day ratings of screened candidates agree with"
            " ICC 0.92-0.98 (Kaufmann 2007: screening vs baseline in the QALS trial, ICC 0.95)"
        ),
    )
    visit_noise_df: float = Field(2.5, gt=2, description="degrees of freedom of that shock (small = heavy tails)")
    screening_item_bias_points: float = Field(
        0.0,
        ge=0,
        le=1,
        description=(
            "mean shift of each item's rating at the screening visit (first trial rating by a new rater):"
            " the screening total is transiently higher, items at 4 cannot rise. Off by default: it has no"
            " published source and it inflates the pre-treatment slope (issue 10)"
        ),
    )
    vc_premorbid_mean_pct: float = Field(80.0, gt=0, description="% predicted before onset")
    vc_premorbid_sd_pct: float = Field(23.0, ge=0)
    vc_decline_per_rate_month_pct: float = Field(
        5.5, ge=0, description="median VC loss per rate-month (PRO-ACT: 2.24 %/month)"
    )
    vc_delay_rate_months: float = Field(
        3.0, ge=0, description="disease time before VC starts to fall (respiratory involvement is late)"
    )
    vc_decline_sigma_log: float = Field(0.6, ge=0)
    vc_measurement_sd_pct: float = Field(9.0, ge=0)


class EventParams(_Section):
    """Intercurrent-event hazards (per month) tied to the latent state.

    hazard = base * exp(coef * deficit); deficits are latent points lost (swallowing item 3,
    mean of respiratory items 10-11, total score). Event days are found by integrating the hazard
    on a grid of ``grid_step_days`` up to ``horizon_days`` after the first dose.
    """

    gastrostomy_base_per_month: float = Field(0.002, ge=0)
    gastrostomy_per_swallow_point: float = Field(1.3, ge=0)
    niv_base_per_month: float = Field(0.003, ge=0)
    niv_per_respiratory_point: float = Field(1.2, ge=0)
    niv_per_10pct_vc_below_80: float = Field(0.5, ge=0)
    pav_base_per_month: float = Field(0.01, ge=0, description="permanent assisted ventilation after NIV")
    pav_per_respiratory_point: float = Field(1.0, ge=0)
    tracheostomy_base_per_month: float = Field(0.004, ge=0, description="after NIV")
    tracheostomy_per_respiratory_point: float = Field(0.8, ge=0)
    death_base_per_month: float = Field(0.0005, ge=0)
    death_per_respiratory_point: float = Field(1.0, ge=0)
    death_per_10_total_points: float = Field(0.5, ge=0)
    death_hr_on_pav: float = Field(0.6, gt=0)
    death_hr_after_tracheostomy: float = Field(0.2, gt=0)
    grid_step_days: float = Field(7.0, gt=0, le=31)
    horizon_days: int = Field(365, ge=0, description="events later than this (after first dose) are not drawn")


class MarkerParams(_Section):
    """One CSF biomarker: log-normal between participants, correlated with progression rate."""

    median_pg_ml: float = Field(gt=0)
    sigma_log_between: float = Field(ge=0, description="total between-participant SD of log level")
    rate_correlation: float = Field(0.0, ge=-1, le=1, description="corr(log level, log rate)")
    sigma_log_within: float = Field(0.1, ge=0, description="biological visit-to-visit SD (log)")
    assay_cv: float = Field(0.08, ge=0, lt=1, description="analytical CV of the assay")
    lloq_pg_ml: float = Field(0.0, ge=0, description="lower limit of quantification; below -> missing")


class BiomarkerParams(_Section):
    """CSF NfL, VEGF and MCP-1 in ALS: NfL median 6,510 pg/mL (Sun Q et al., Front Neurol 2020;11:919),
    MCP-1 234.9 pg/mL (Neurología 2017, 77 patients), VEGF tens of pg/mL near the assay's LLOQ
    (Nagata T et al., Neurol Res 2007;29:772); see simulate/SOURCES.md."""

    nfl: MarkerParams = MarkerParams(median_pg_ml=6500, sigma_log_between=0.7, rate_correlation=0.35, lloq_pg_ml=100)
    vegf: MarkerParams = MarkerParams(median_pg_ml=15, sigma_log_between=0.5, assay_cv=0.12, lloq_pg_ml=9)
    mcp1: MarkerParams = MarkerParams(median_pg_ml=235, sigma_log_between=0.35, rate_correlation=0.15)


class TreatmentParams(_Section):
    """Effect of the active arm; every value 0 (HR 1) means no effect at all, exactly.

    The slope effect depends on baseline severity through two explicit parameters: participants
    whose baseline ALSFRS-R is at least ``severity_threshold_total`` gain
    ``effect_slope_high_points_per_month``, the others ``effect_slope_points_per_month``. The
    effect is applied as a fraction of each participant's own latent progression removed after
    the first dose, capped at 1 (a treatment halts, it does not reverse): a participant declining
    more slowly than the effect cannot gain all of it, so the realised mean effect is smaller
    than the nominal one, most of all among slow progressors.

    Defaults make the demo resemble the seed trial's published result (Cudkowicz 2022, Table 4 and
    erratum): a small, non-significant overall difference (MMRM +0.36 points at week 28) that is
    larger with less advanced disease (+2.09 points at week 28 at baseline >= 35, i.e. ~0.33
    points/month): 0.35 points/month at >= 35 and none below (nominal, before the cap). Over 200
    simulated trials this gives a median responder OR 1.41 (published 1.33), a mean change
    difference +0.64 (published +0.36) and +2.08 at >= 35 (simulate/SOURCES.md).
    """

    effect_slope_points_per_month: float = Field(
        0.0, description="slowing of ALSFRS-R decline (points/month) when baseline total < threshold"
    )
    effect_slope_high_points_per_month: float = Field(
        0.35, description="same, when baseline total >= severity_threshold (seed trial's >=35 subgroup)"
    )
    severity_threshold_total: int = Field(35, ge=0, le=48)
    nfl_fraction: float = Field(-0.2, gt=-1, description="fractional change at full effect (-0.2 = -20 %)")
    vegf_fraction: float = Field(0.5, gt=-1)
    mcp1_fraction: float = Field(-0.3, gt=-1)
    biomarker_ramp_days: float = Field(14.0, ge=0, description="each dose's share ramps in over this")
    survival_hazard_ratio: float = Field(1.0, gt=0, description="death hazard ratio after first dose")

    def describe(self) -> str:
        """One sentence saying which effect is simulated (for reports and results files)."""
        return (
            f"simulated slope effect {self.effect_slope_high_points_per_month:+.2f} points/month at baseline "
            f"ALSFRS-R >= {self.severity_threshold_total} and {self.effect_slope_points_per_month:+.2f} below "
            "(a fraction of each participant's progression removed, capped at 1); biomarkers "
            f"NfL {self.nfl_fraction:+.0%}, VEGF {self.vegf_fraction:+.0%}, MCP-1 {self.mcp1_fraction:+.0%}; "
            f"survival hazard ratio {self.survival_hazard_ratio:.2f}"
        )


class DropoutParams(_Section):
    """Discontinuation after the first dose; hazard per month with covariates and a mechanism."""

    mechanism: DropoutMechanism = "mar"
    base_per_month: float = Field(0.015, ge=0)
    male_hazard_ratio: float = Field(1.6, gt=0)
    age_band_years: tuple[float, float] = (40.0, 50.0)
    age_band_hazard_ratio: float = Field(1.7, gt=0, description="for ages inside age_band_years")
    mar_per_point_per_month: float = Field(
        0.35, description="log-HR per point/month of *observed* decline since baseline (MAR)"
    )
    mnar_per_point_per_month: float = Field(
        0.35, description="log-HR per point/month of *latent* current decline rate (MNAR)"
    )
    reason_weights: dict[str, float] = Field(
        default_factory=lambda: {
            "withdrawal_by_subject": 0.5,
            "adverse_event": 0.2,
            "lost_to_follow_up": 0.15,
            "physician_decision": 0.15,
        }
    )

    @field_validator("reason_weights")
    @classmethod
    def _reasons(cls, v: dict[str, float]) -> dict[str, float]:
        return _check_weights("reason_weights", v, DROPOUT_REASONS)

    @field_validator("age_band_years")
    @classmethod
    def _band(cls, v: tuple[float, float]) -> tuple[float, float]:
        if v[0] >= v[1]:
            raise ValueError(f"age_band_years must be (low, high) with low < high (not {v!r})")
        return v


class VisitParams(_Section):
    """Schedule in days relative to the first dose (day 0)."""

    screening_day: int = Field(
        -90,
        lt=0,
        description=(
            "screening visit (SCR): consent, ALSFRS-R >= 25, SVC; about 3 months before the first dose (the"
            " '3-month screening period' of the sources, screening to first treatment; simulate/SOURCES.md)"
        ),
    )
    runin_day: int = Field(
        -35, lt=0, description="end of run-in (RUNIN): decline = ALSFRS-R at SCR minus here; eligibility confirmed"
    )
    alsfrs_days: tuple[int, ...] = (0, 28, 56, 84, 112, 140, 168, 196)
    dose_days: tuple[int, ...] = (0, 56, 112)
    csf_days: tuple[int, ...] = (0, 56, 112, 196)

    @field_validator("alsfrs_days", "dose_days", "csf_days")
    @classmethod
    def _sorted(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v:
            raise ValueError("visit days must not be empty")
        if list(v) != sorted(set(v)) or v[0] < 0:
            raise ValueError(f"visit days must be distinct, increasing and >= 0 (not {list(v)!r})")
        return v

    @model_validator(mode="after")
    def _baseline(self) -> VisitParams:
        if not self.screening_day < self.runin_day < 0:
            raise ValueError(
                f"runin_day ({self.runin_day!r}) must lie between screening_day ({self.screening_day!r}) and 0"
            )
        if self.alsfrs_days[0] != 0:
            raise ValueError(f"alsfrs_days must start with the baseline day 0 (not {self.alsfrs_days[0]!r})")
        return self


class EligibilityParams(_Section):
    """Criteria the simulator applies to simulated screening data (the fast path)."""

    age_min_years: float = 18.0
    age_max_years: float = 60.0
    max_months_since_onset: float = Field(24.0, gt=0, description="at the screening visit")
    min_alsfrs_r_at_screening: int = Field(25, ge=0, le=48)
    min_svc_pct: float = Field(65.0, ge=0, description="upright SVC % predicted at screening")
    min_runin_decline_points: int = Field(3, ge=0, description="screening total minus run-in visit total")
    allowed_el_escorial: tuple[str, ...] = EL_ESCORIAL_CATEGORIES
    allow_prior_stem_cell: bool = False

    @field_validator("allowed_el_escorial")
    @classmethod
    def _cats(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [c for c in v if c not in EL_ESCORIAL_CATEGORIES]
        if bad:
            raise ValueError(f"unknown El Escorial category {bad!r}, expected some of {EL_ESCORIAL_CATEGORIES!r}")
        return v


class SimulationParams(_Section):
    """All parameters of the simulator; the defaults are calibrated to the seed trial."""

    population: PopulationParams = PopulationParams()
    progression: ProgressionParams = ProgressionParams()
    events: EventParams = EventParams()
    biomarkers: BiomarkerParams = BiomarkerParams()
    treatment: TreatmentParams = TreatmentParams()
    dropout: DropoutParams = DropoutParams()
    visits: VisitParams = VisitParams()
    eligibility: EligibilityParams = EligibilityParams()

"""The batch primary MMRM equals the regular engine on the same data, trial by trial."""

from __future__ import annotations

import numpy as np
import pytest

from alstrial.stats.endpoints_change import change_from_baseline_mmrm
from alstrial.stats.mmrm.batch import fit_primary_many, primary_frame


def _trials(n_trials: int, seed: int, n: int = 120, m: int = 5) -> list[tuple[np.ndarray, ...]]:
    rng = np.random.default_rng(seed)
    lag = np.abs(np.subtract.outer(np.arange(m), np.arange(m)))
    sd = np.linspace(2.0, 5.0, m)
    cov = 0.8**lag * np.outer(sd, sd)
    out = []
    for _ in range(n_trials):
        base = rng.normal(38, 5, n).round()
        active = rng.random(n) < 0.5
        y = -np.arange(1, m + 1)[None] * (1.0 - 0.3 * active[:, None]) + 0.05 * (base[:, None] - 38)
        y = y + rng.multivariate_normal(np.zeros(m), cov, n)
        drop = rng.geometric(0.06, n)  # monotone dropout, some before the first visit
        y[np.arange(m)[None] >= drop[:, None]] = np.nan
        y[rng.random((n, m)) < 0.03] = np.nan  # and intermittent missed visits
        out.append((y, base, active, (base < 35).astype(int)))
    return out


def _regular(trial: tuple[np.ndarray, ...], df: str, visit: str) -> tuple[float, float, float, float]:
    y, base, active, strata = trial
    res = change_from_baseline_mmrm(
        primary_frame(y, base, active, strata),
        change="CHG",
        baseline="BASE",
        strata=["STRATUM"],
        primary_visit=visit,
        reference_arm="reference",
        df=df,  # type: ignore[arg-type]
    )
    return res.difference, res.std_error, res.df, res.p_value


@pytest.mark.parametrize(("df", "visit", "index"), [("kenward-roger", "V5", -1), ("satterthwaite", "V3", 2)])
def test_batch_equals_regular_fit(df: str, visit: str, index: int) -> None:
    trials = _trials(3, seed=7)
    fits = fit_primary_many(*(list(col) for col in zip(*trials, strict=True)), df=df, primary_visit=index)  # type: ignore[arg-type]
    assert fits.refits == 0 and fits.converged.all()
    assert np.isnan(trials[0][0]).any()
    for r, trial in enumerate(trials):
        expected = _regular(trial, df, visit)
        got = (fits.estimate[r], fits.std_error[r], fits.df[r], fits.p_value[r])
        np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_results_do_not_depend_on_grouping_or_warm_start() -> None:
    trials = _trials(4, seed=11)
    cols = [list(c) for c in zip(*trials, strict=True)]
    together = fit_primary_many(*cols)
    warm = fit_primary_many(*cols, warm_start=True)
    alone = [fit_primary_many(*[[c[r]] for c in cols]) for r in range(4)]
    for r in range(4):
        assert together.estimate[r] == pytest.approx(alone[r].estimate[0], rel=1e-9)
        assert together.std_error[r] == pytest.approx(warm.std_error[r], rel=1e-9)
        assert together.p_value[r] == pytest.approx(alone[r].p_value[0], rel=1e-8)


def test_trial_with_a_missing_stratum_goes_to_the_regular_engine() -> None:
    (y, base, active, _), (y2, base2, active2, strata2) = _trials(2, seed=3)
    strata = np.zeros(y.shape[0], dtype=int)  # stratum 1 absent in this trial only
    fits = fit_primary_many([y, y2], [base, base2], [active, active2], [strata, strata2])
    assert fits.refits == 1 and fits.converged.all()
    res = change_from_baseline_mmrm(
        primary_frame(y, base, active), change="CHG", baseline="BASE", primary_visit="V5", reference_arm="reference"
    )
    assert fits.estimate[0] == pytest.approx(res.difference, rel=1e-6)
    assert fits.p_value[0] == pytest.approx(res.p_value, rel=1e-6)
    assert "refitted by the regular engine" in str(fits)


def test_bad_input_is_refused() -> None:
    (y, base, active, _), *_ = _trials(1, seed=1)
    with pytest.raises(ValueError, match="invalid value for df"):
        fit_primary_many([y], [base], [active], df="residual")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="same number of trials"):
        fit_primary_many([y, y], [base], [active])
    with pytest.raises(ValueError, match="must be"):
        fit_primary_many([y, y[:, :3]], [base, base], [active, active])
    with pytest.raises(ValueError, match="not a visit index"):
        fit_primary_many([y], [base], [active], primary_visit=9)


def test_fast_path_equals_the_analysis_plan_on_simulated_trials() -> None:
    """simulate_cohorts + fit_primary_many give the plan's MMRM change result (seed protocol)."""
    from alstrial.analysis.datasets import primary_visit_code
    from alstrial.analysis.plan import AnalysisPlan
    from alstrial.design.cohort_datasets import datasets_from_cohort
    from alstrial.protocol import load_protocol
    from alstrial.simulate.batch import simulate_cohorts
    from alstrial.simulate.cohort import simulate_cohort

    protocol = load_protocol()
    arms = tuple(a.code for a in protocol.arms)
    control = next(a.code for a in protocol.arms if a.is_control)
    params = protocol.simulation
    seeds = [21, 22]
    trials = simulate_cohorts(params, 189, seeds, arms=arms, control_arm=control)
    primary = list(trials.visit_days[1:]).index(protocol.visit(primary_visit_code(protocol)).day)
    strata = (trials.baseline_total < 35).astype(int)  # the plan's ALSBAND: ge35 / lt35
    fits = fit_primary_many(trials.change(), trials.baseline_total, trials.active, strata, primary_visit=primary)
    plan = AnalysisPlan(protocol)
    endpoint = next(e for e in protocol.endpoints if e.method == "mmrm_change")
    for r, seed in enumerate(seeds):
        ds = datasets_from_cohort(simulate_cohort(params, 189, seed=seed, arms=arms, control_arm=control), protocol)
        res = plan.mmrm_change(endpoint, ds.adqs, ds)
        assert res.fit.spec.df == "kenward-roger"
        got = (fits.estimate[r], fits.std_error[r], fits.df[r], fits.p_value[r])
        np.testing.assert_allclose(got, (res.difference, res.std_error, res.df, res.p_value), rtol=1e-6)
        assert fits.n_subjects[r] == res.n_subjects and fits.n_observations[r] == res.n_observations


def test_fixed_number_of_strata_makes_a_trial_independent_of_its_neighbours() -> None:
    """With n_strata fixed, a trial missing a level is refitted the same way alone or in a group."""
    (y, base, active, _), (y2, base2, active2, strata2) = _trials(2, seed=3)
    strata = np.zeros(y.shape[0], dtype=int)
    alone = fit_primary_many([y], [base], [active], [strata], n_strata=2)
    grouped = fit_primary_many([y, y2], [base, base2], [active, active2], [strata, strata2], n_strata=2)
    assert alone.refits == 1 and alone.estimate[0] == grouped.estimate[0] and alone.p_value[0] == grouped.p_value[0]
    with pytest.raises(ValueError, match=r"strata codes must lie in 0\.\.1"):
        fit_primary_many([y2], [base2], [active2], [strata2 + 1], n_strata=2)
    with pytest.raises(ValueError, match="needs strata"):
        fit_primary_many([y2], [base2], [active2], n_strata=2)


def test_a_trial_does_not_depend_on_its_block_mates() -> None:
    """Trials fitted in one lockstep block (different sizes and patterns, one refitted, one too small
    to fit) give each trial's numbers alone: the same iterations, and estimates equal up to the order
    of floating-point sums (1e-9 relative; the optimum is converged to a Newton decrement < 1e-20)."""
    trials = _trials(3, seed=13) + _trials(1, seed=14, n=90)
    y, base, active, _ = _trials(1, seed=15)[0]
    trials.append((y, base, active, np.zeros(y.shape[0], dtype=int)))  # stratum 1 absent: refitted
    y, base, active, strata = _trials(1, seed=16, n=15)[0]  # 15 subjects, 16 coefficients: not fitted
    trials.append((y, base, active, strata))
    cols = [list(c) for c in zip(*trials, strict=True)]
    together = fit_primary_many(*cols, n_strata=2)
    assert together.refits == 1 and together.converged.tolist() == [True] * 5 + [False]
    assert np.isnan(together.estimate[5]) and together.n_subjects[5] == 0
    for r in range(len(trials)):
        alone = fit_primary_many(*[[c[r]] for c in cols], n_strata=2)
        assert together.iterations[r] == alone.iterations[0]
        got = (together.estimate[r], together.std_error[r], together.df[r], together.p_value[r])
        want = (alone.estimate[0], alone.std_error[0], alone.df[0], alone.p_value[0])
        np.testing.assert_allclose(got, want, rtol=1e-9)


@pytest.mark.parametrize("arm", [False, True])
def test_an_arm_without_data_at_a_visit_is_left_to_the_regular_engine(arm: bool) -> None:
    """Its arm-by-visit column is aliased: the regular engine refuses the design, and the batch
    reports what the regular engine gives (no estimate, not converged, one refit), not a number."""
    from alstrial.stats.mmrm import RankDeficientDesign

    (y, base, active, strata), other = _trials(2, seed=17)
    y = y.copy()
    y[active == arm, 2] = np.nan  # the arm has no value at V3
    with pytest.raises(RankDeficientDesign, match="ARMtreated:AVISITV3"):
        _regular((y, base, active, strata), "kenward-roger", "V5")
    fits = fit_primary_many([y, other[0]], [base, other[1]], [active, other[2]], [strata, other[3]])
    assert fits.refits == 1 and fits.converged.tolist() == [False, True]
    assert np.isnan([fits.estimate[0], fits.std_error[0], fits.p_value[0]]).all()
    np.testing.assert_allclose(fits.p_value[1], _regular(other, "kenward-roger", "V5")[3], rtol=1e-6)


def test_a_trial_newton_does_not_converge_on_is_refitted_by_the_regular_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """With two Newton iterations allowed no trial converges (they take 5-8): each is refitted by
    the regular engine, counted, and reports the regular engine's numbers."""
    from alstrial.stats.mmrm import mapped_newton

    monkeypatch.setattr(mapped_newton, "_MAX_ITER", 2)
    trials = _trials(2, seed=19)
    fits = fit_primary_many(*(list(c) for c in zip(*trials, strict=True)))
    assert fits.refits == 2 and fits.converged.all() and (fits.iterations == 0).all()
    for r, trial in enumerate(trials):
        got = (fits.estimate[r], fits.std_error[r], fits.df[r], fits.p_value[r])
        np.testing.assert_allclose(got, _regular(trial, "kenward-roger", "V5"), rtol=1e-6)

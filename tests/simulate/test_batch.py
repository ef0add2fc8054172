"""Many trials at once equal the same trials simulated one by one, whatever the grouping."""

from __future__ import annotations

import numpy as np
import pytest

from alstrial.protocol.simulation import SimulationParams
from alstrial.simulate.batch import CohortArrays, simulate_cohorts
from alstrial.simulate.cohort import Cohort, _streams, screen_arrays, screen_trials, simulate_cohort
from alstrial.simulate.errors import SimulationError


def _check_trial(arrays: CohortArrays, r: int, cohort: Cohort) -> None:
    p, v = cohort.participants, cohort.visits
    np.testing.assert_array_equal(arrays.arm[r], p["arm"].to_numpy())
    np.testing.assert_array_equal(arrays.baseline_total[r], p["baseline_total"].to_numpy())
    np.testing.assert_array_equal(arrays.screening_total[r], p["screening_total"].to_numpy())
    np.testing.assert_array_equal(arrays.runin_total[r], p["runin_total"].to_numpy())
    np.testing.assert_array_equal(arrays.age[r], p["age"].to_numpy())
    np.testing.assert_array_equal(arrays.onset_region[r], p["onset_region"].to_numpy())
    np.testing.assert_array_equal(arrays.riluzole[r], p["riluzole"].to_numpy())
    assert set(arrays.onset_region[r]) == {"bulbar", "limb"} and 0 < arrays.riluzole[r].mean() < 1
    np.testing.assert_array_equal(arrays.dropout_day[r], p["dropout_day"].to_numpy(dtype=float))
    np.testing.assert_array_equal(arrays.dropout_reason[r], p["dropout_reason"].to_numpy())
    np.testing.assert_allclose(arrays.months_since_onset[r], p["months_since_onset"].to_numpy(), rtol=0, atol=0)
    for name, days in arrays.events.items():
        np.testing.assert_array_equal(days[r], p[f"{name}_day"].to_numpy(dtype=float))
    assert arrays.n_screened[r] == cohort.n_screened
    # every attended post-baseline visit, and no other, is in the long visits table
    post = v[(v["day"] > 0) & v["total"].notna()]
    ids = p["id"].to_numpy()
    got = {
        (ids[i], int(d)): int(arrays.total[r, i, j])
        for i in range(ids.size)
        for j, d in enumerate(arrays.visit_days)
        if d > 0 and arrays.attended[r, i, j]
    }
    assert got == {(i, int(d)): int(t) for i, d, t in zip(post["id"], post["day"], post["total"], strict=True)}
    change = arrays.change()[r]
    assert np.isnan(change).sum() == (~arrays.attended[r, :, 1:]).sum()


@pytest.mark.parametrize("effect", [0.0, 0.6])
def test_each_trial_equals_simulate_cohort(effect: float) -> None:
    params = SimulationParams()
    params = params.model_copy(
        update={"treatment": params.treatment.model_copy(update={"effect_slope_points_per_month": effect})}
    )
    seeds = [5, 6, 7]
    arrays = simulate_cohorts(params, 60, seeds, arms=("PBO", "MSC"), control_arm="PBO")
    assert arrays.total.shape == (3, 60, len(params.visits.alsfrs_days))
    for r, seed in enumerate(seeds):
        _check_trial(arrays, r, simulate_cohort(params, 60, seed=seed, arms=("PBO", "MSC"), control_arm="PBO"))
    assert "3 simulated trials of 60 participants" in str(arrays)


def test_grouping_does_not_change_a_trial() -> None:
    together = simulate_cohorts(None, 40, [1, 2, 3])
    alone = simulate_cohorts(None, 40, [3])
    np.testing.assert_array_equal(together.total[2], alone.total[0])
    np.testing.assert_array_equal(together.dropout_day[2], alone.dropout_day[0])


def test_a_trial_is_the_same_whatever_trials_share_its_call() -> None:
    # screening runs in rounds shared by the trials of a call: a trial that needs more rounds than
    # its mates, or fewer, at any position, must get exactly what it gets alone
    alone = simulate_cohorts(None, 40, [3])
    for seeds in ([3, 11, 12], [11, 3], [12, 11, 3, 13]):
        together = simulate_cohorts(None, 40, seeds)
        r = seeds.index(3)
        assert together.n_screened[r] == alone.n_screened[0]
        for name in ("total", "arm", "screening_total", "runin_total", "age", "dropout_day", "dropout_reason"):
            np.testing.assert_array_equal(getattr(together, name)[r], getattr(alone, name)[0], err_msg=name)
        for name, days in together.events.items():
            np.testing.assert_array_equal(days[r], alone.events[name][0], err_msg=name)


def test_screening_trials_together_equals_screening_each_alone() -> None:
    params = SimulationParams()
    seeds = [21, 22, 23]
    together = screen_trials(params, 30, [tuple(_streams(s, None)[:2]) for s in seeds])
    sel = together.selected().reshape(len(seeds), 30)
    assert together.n_trials == 3
    for r, seed in enumerate(seeds):
        alone = screen_arrays(params, 30, *_streams(seed, None)[:2])
        rows = np.flatnonzero(together.trial == r)  # its screening order
        assert together.n_screened[r] == alone.n_screened[0] <= rows.size
        np.testing.assert_array_equal(together.batch.take(rows).rate, alone.batch.rate)
        np.testing.assert_array_equal(together.obs.total[rows], alone.obs.total)
        np.testing.assert_array_equal(together.eligible[rows], alone.eligible)
        for k in alone.events:
            np.testing.assert_array_equal(together.events[k][rows], alone.events[k], err_msg=k)
        np.testing.assert_array_equal(together.batch.take(sel[r]).age, alone.batch.take(alone.selected()).age)
    # the rounds interleave the trials: without the trial labels, the rows would not be a trial's
    assert not np.array_equal(together.trial, np.sort(together.trial))


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one seed"):
        simulate_cohorts(None, 10, [])
    with pytest.raises(Exception, match="invalid value for n"):
        simulate_cohorts(None, 0, [1])
    with pytest.raises(SimulationError, match="at least one trial"):
        screen_trials(SimulationParams(), 10, [])

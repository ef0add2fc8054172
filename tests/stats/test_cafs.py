"""CAFS / Finkelstein–Schoenfeld: hand-scored small examples, the variance formula, permutations."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from alstrial.stats.cafs import cafs_test, pairwise_scores
from alstrial.stats.cafs_core import permutation_p
from alstrial.stats.endpoint_data import EndpointDataError


def _four() -> pd.DataFrame:
    # Scored by hand (module docstring rules):
    #   A died at 10, B/C alive at 12, D died at 6.
    #   A-B: A died in shared time (10) -> B wins.  A-C: C wins.  A-D: D died at 6 -> A wins.
    #   B-C: neither died, change -5 vs -2 -> C wins.  B-D, C-D: D died -> B, C win.
    #   U = A -1, B +1, C +3, D -3.
    return pd.DataFrame(
        {
            "id": ["A", "B", "C", "D"],
            "arm": ["TRT", "PBO", "TRT", "PBO"],
            "time": [10.0, 12.0, 12.0, 6.0],
            "died": [1, 0, 0, 1],
            "chg": [-8.0, -5.0, -2.0, -1.0],
        }
    )


def test_hand_scored_four_patients() -> None:
    res = cafs_test(_four(), arm="arm", time="time", event="died", change="chg", subject="id")
    assert res.scores.set_index("subject")["score"].to_dict() == {"A": -1, "B": 1, "C": 3, "D": -3}
    assert res.arms == ("PBO", "TRT")
    assert res.statistic == 2.0  # A + C
    assert res.variance == pytest.approx(2 * 2 / (4 * 3) * 20)
    assert res.z == pytest.approx(2 / np.sqrt(20 / 3))
    assert res.mean_rank == {"PBO": pytest.approx(2.0), "TRT": pytest.approx(3.0)}  # ranks D1 A2 B3 C4
    assert res.to_dict()["mean_rank"] == {"PBO": 2.0, "TRT": 3.0}


def test_tie_rules() -> None:
    # 0: died at 6; 1: died at 6 (same time) -> tie, function not consulted although it differs;
    # 2: censored at 6 -> counted alive at 6, beats both deaths; 3 and 4: alive, equal change -> tie.
    u = pairwise_scores(
        np.array([6.0, 6.0, 6.0, 9.0, 9.0]),
        np.array([1, 1, 0, 0, 0]),
        np.array([-1.0, -20.0, -30.0, -4.0, -4.0]),
    )
    assert u[0, 1] == 0 and u[1, 0] == 0
    assert u[2, 0] == 1 and u[2, 1] == 1 and u[0, 2] == -1
    assert u[3, 4] == 0
    assert u[2, 3] == -1  # both alive over the shared 6 units: function decides, -30 < -4
    assert (u == -u.T).all()


def test_missing_change_ties_and_two_d_uses_last_common_visit() -> None:
    u = pairwise_scores(np.array([5.0, 5.0]), np.array([0, 0]), np.array([np.nan, -3.0]))
    assert u[0, 1] == 0
    # P observed at visits 1-2, Q at 1-3: compared at visit 2 (-3 vs -2): Q wins, although
    # Q's last value (-10) is worse than anything of P's.
    change = np.array([[-1.0, -3.0, np.nan], [-2.0, -2.0, -10.0]])
    u2 = pairwise_scores(np.array([2.0, 3.0]), np.array([0, 0]), change)
    assert u2[0, 1] == -1 and u2[1, 0] == 1


def test_vectorised_matches_naive_double_loop() -> None:
    rng = np.random.default_rng(4)
    n = 60
    t = rng.integers(1, 10, n).astype(float)
    d = rng.integers(0, 2, n)
    c = rng.integers(-6, 2, n).astype(float)

    def naive(i: int, j: int) -> int:
        di = d[i] == 1 and t[i] <= t[j]
        dj = d[j] == 1 and t[j] <= t[i]
        if di and not dj:
            return -1
        if dj and not di:
            return 1
        if di and dj:
            return 0
        return int(np.sign(c[i] - c[j]))

    expected = np.array([[naive(i, j) for j in range(n)] for i in range(n)])
    np.testing.assert_array_equal(pairwise_scores(t, d, c), expected)


def test_permutation_p_matches_exact_enumeration() -> None:
    rng = np.random.default_rng(7)
    df = pd.DataFrame(
        {
            "arm": [0, 1] * 4,
            "time": rng.integers(3, 12, 8).astype(float),
            "ev": rng.integers(0, 2, 8),
            "chg": rng.normal(-4, 2, 8).round(1),
        }
    )
    res = cafs_test(df, arm="arm", time="time", event="ev", change="chg", permutations=20000, seed=3)
    u = res.scores["score"].to_numpy()
    sims = np.array([u[list(s)].sum() for s in itertools.combinations(range(8), 4)])
    exact = np.mean(np.abs(sims) >= abs(res.statistic) - 1e-9)
    assert res.permutation_p_value == pytest.approx(exact, abs=0.015)
    # The permutation variance of T equals the closed form.
    assert sims.var() == pytest.approx(res.variance)
    again = cafs_test(df, arm="arm", time="time", event="ev", change="chg", permutations=20000, seed=3)
    assert again.permutation_p_value == res.permutation_p_value


def _simulate(n: int, seed: int, hr: float, benefit: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = np.repeat([0, 1], n // 2)
    death = rng.exponential(30 / np.where(arm == 1, hr, 1.0))
    time = np.minimum(death, 12.0)
    chg = rng.normal(-8 + benefit * arm, 4)
    return pd.DataFrame({"arm": arm, "t": time, "d": (death <= 12).astype(int), "c": chg})


def test_simulated_benefit_is_detected_and_null_is_not() -> None:
    res = cafs_test(_simulate(1000, 1, 0.6, 2.0), arm="arm", time="t", event="d", change="c")
    assert res.z > 4 and res.mean_rank[1] > res.mean_rank[0]


def test_null_p_values_are_uniform_and_the_type_i_error_is_five_percent() -> None:
    """400 seeded null trials. The rejection count is Binomial(400, 0.05) if the test is right, so
    the 99.9 % central interval of that distribution is the tolerance (Monte Carlo error only), and
    a KS test of the p-values against U(0, 1) at alpha 0.001 checks the whole distribution."""
    from scipy import stats

    runs = 400
    null_p = np.array(
        [
            cafs_test(_simulate(100, s, 1.0, 0.0), arm="arm", time="t", event="d", change="c").p_value
            for s in range(runs)
        ]
    )
    low, high = stats.binom.ppf([0.0005, 0.9995], runs, 0.05)
    assert low <= np.sum(null_p < 0.05) <= high
    assert stats.kstest(null_p, "uniform").pvalue > 0.001


def test_composite_event_and_reference_level() -> None:
    df = _four().assign(trach=[0, 1, 0, 0], chg=[-8.0, 0.0, -2.0, -1.0])
    plain = cafs_test(df, arm="arm", time="time", event="died", change="chg")
    assert plain.scores["score"].tolist() == [-1, 3, 1, -3]  # B's better change beats C
    res = cafs_test(df, arm="arm", time="time", event=["died", "trach"], change="chg", reference="TRT")
    assert res.arms == ("TRT", "PBO")
    # With tracheostomy in the composite, B has an event at 12 = C's follow-up end: C beats B.
    assert res.scores["score"].tolist() == [-1, 1, 3, -3]
    assert res.statistic == -2.0  # sum over PBO (B + D), the non-reference arm


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"died": [1, 0, 2, 0]}, "must be 0/1, found 2.0"),
        ({"arm": ["a", "b", "c", "a"]}, "exactly 2 levels"),
        ({"time": [1.0, -2.0, 3.0, 4.0]}, "negative time"),
        ({"chg": ["x", 1, 2, 3]}, "must be numeric, found 'x'"),
    ],
)
def test_bad_data_is_named(change: dict[str, list[object]], message: str) -> None:
    df = _four().assign(**change)
    with pytest.raises(EndpointDataError, match=message):
        cafs_test(df, arm="arm", time="time", event="died", change="chg")


def test_printed_summary_and_plain_dict_name_every_figure() -> None:
    res = cafs_test(_four(), arm="arm", time="time", event="died", change="chg", subject="id", permutations=99, seed=1)
    text = str(res)
    assert text.startswith("<CAFSResult>")
    for line in (
        "test            = Finkelstein-Schoenfeld (CAFS)",
        "statistic T     = 2 (sum of scores in arm 'TRT')",
        "Var(T)          = 6.66667",  # 2·2 / (4·3) · 20
        "z               = 0.774597",  # 2 / √(20/3)
        f"p (normal)      = {res.p_value:g}",
        f"p (permutation) = {res.permutation_p_value:.6g} (99 perms, seed 1)",
    ):
        assert line in text, line
    table = text.split("\n\n", 1)[1].split()
    assert table[:3] == ["n", "mean_score", "mean_rank"] and table[-8:] == ["PBO", "2", "-1", "2", "TRT", "2", "1", "3"]
    assert res.to_dict() == {
        "arms": ["PBO", "TRT"],
        "n": {"PBO": 2, "TRT": 2},
        "statistic": 2.0,
        "variance": pytest.approx(20 / 3),
        "z": pytest.approx(2 / np.sqrt(20 / 3)),
        "p_value": pytest.approx(res.p_value),
        "mean_rank": {"PBO": 2.0, "TRT": 3.0},
        "permutations": 99,
        "permutation_p_value": res.permutation_p_value,
        "seed": 1,
    }


def test_permutation_p_counts_every_draw_over_several_chunks() -> None:
    """Draws are made in chunks of 2,000,000 // N permutations: with N = 1,000 and B = 4,500 that is
    three chunks (2,000 + 2,000 + 500). Two exact answers: T = 0 is matched by every draw (p = 1),
    and a T no permutation can reach is matched by none (p = 1 / (B + 1))."""
    n, b = 1000, 4500
    same = pd.DataFrame({"arm": [0, 1] * (n // 2), "t": 12.0, "d": 0, "c": -3.0})
    res = cafs_test(same, arm="arm", time="t", event="d", change="c", permutations=b, seed=5)
    assert res.statistic == 0.0 and res.permutation_p_value == 1.0
    u = np.tile([1.0, -1.0], n // 2)
    assert permutation_p(u, n // 2, n, b, seed=5) == 1 / (b + 1)  # |T*| <= 500 < 1,000


@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [
        # the first negative time is quoted even after a zero (a time of 0 is allowed)
        ({"time": [0.0, -2.0, 3.0, 4.0]}, {}, "CAFS: column 'time' has a negative time -2.0"),
        ({"chg": [1.0, "x", 2.0, 3.0]}, {}, "CAFS: column 'chg' must be numeric, found 'x' in row 1"),
        (
            {"chg": [np.nan] * 4},
            {},
            "CAFS: change column(s) 'chg' have no value for any of the 2 participant(s) "
            "without an event; the functional part cannot be ranked",
        ),
        (
            {},
            {"subject": "patient"},
            "CAFS: column(s) 'patient' not found (available: 'id', 'arm', 'time', 'died', 'chg')",
        ),
    ],
)
def test_each_refusal_is_worded_in_full(change: dict[str, list[object]], kwargs: dict[str, str], message: str) -> None:
    df = _four().assign(**change)
    with pytest.raises(EndpointDataError) as err:
        cafs_test(df, arm="arm", time="time", event="died", change="chg", **kwargs)
    assert str(err.value) == message


def test_a_missing_change_of_a_participant_with_an_event_is_allowed_and_no_permutations_by_default() -> None:
    """A died (event) and has no change: the pairwise rules never need it, so the test runs. Without
    ``permutations`` no permutation p-value is computed."""
    res = cafs_test(_four().assign(chg=[np.nan, -5.0, -2.0, -1.0]), arm="arm", time="time", event="died", change="chg")
    assert res.scores["score"].tolist() == [-1, 1, 3, -3]  # the hand scores of _four(): A never compares by change
    assert (res.permutations, res.permutation_p_value) == (0, None)

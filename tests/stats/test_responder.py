"""Responder endpoint (definition: validation/reference/alsfrs_staging_encals.md): slope derivation by hand,
exact 2×2 odds ratio, simulated known OR."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alstrial.stats.endpoint_data import EndpointDataError
from alstrial.stats.responder import responder_analysis
from alstrial.stats.responder_slopes import DAYS_PER_MONTH, SlopeRule, derive_pre_post_slopes, pre_treatment_slopes


def test_two_point_and_least_squares_slopes_by_hand() -> None:
    m = DAYS_PER_MONTH
    long = pd.DataFrame(
        {
            "id": ["a"] * 5 + ["b"] * 2,
            "day": [-3 * m, -1 * m, 0, 2 * m, 4 * m, -2 * m, 0],
            "total": [40, 39, 37, 36, 35, 30, 28],
        }
    )
    two = derive_pre_post_slopes(long, subject="id", day="day", score="total").set_index("id")
    # a: pre (37 - 40) / 3 = -1; post (35 - 37) / 4 = -0.5; change +0.5.
    assert two.loc["a", "pre_slope"] == pytest.approx(-1.0)
    assert two.loc["a", "post_slope"] == pytest.approx(-0.5)
    assert two.loc["a", "slope_change"] == pytest.approx(0.5)
    assert (two.loc["a", "n_pre"], two.loc["a", "n_post"]) == (3, 3)
    # b has no post-baseline visit: post slope NaN, pre (28 - 30) / 2 = -1.
    assert two.loc["b", "pre_slope"] == pytest.approx(-1.0) and np.isnan(two.loc["b", "post_slope"])
    ls = derive_pre_post_slopes(long, subject="id", day="day", score="total", method="least_squares").set_index("id")
    # pre points (-3, 40), (-1, 39), (0, 37): x̄ = -4/3, slope = Sxy / Sxx.
    x, y = np.array([-3.0, -1.0, 0.0]), np.array([40.0, 39.0, 37.0])
    assert ls.loc["a", "pre_slope"] == pytest.approx(np.polyfit(x, y, 1)[0])
    assert ls.loc["a", "post_slope"] == pytest.approx(-0.5)
    cut = derive_pre_post_slopes(long, subject="id", day="day", score="total", endpoint_day=2 * m).set_index("id")
    assert cut.loc["a", "post_slope"] == pytest.approx(-0.5)  # (36 - 37) / 2


def test_unadjusted_odds_ratio_equals_the_2x2_table() -> None:
    # TRT: 12 responders of 40; PBO: 6 of 40 -> OR = (12*34)/(28*6), SE = sqrt(1/12+1/28+1/6+1/34).
    change = np.r_[np.full(12, 2.0), np.full(28, 0.0), np.full(6, 2.0), np.full(34, 0.0)]
    df = pd.DataFrame({"arm": ["TRT"] * 40 + ["PBO"] * 40, "chg": change})
    res = responder_analysis(df, arm="arm", slope_change="chg")
    assert res.odds_ratio == pytest.approx(12 * 34 / (28 * 6), rel=1e-7)
    se = np.sqrt(1 / 12 + 1 / 28 + 1 / 6 + 1 / 34)
    assert res.std_error == pytest.approx(se, rel=1e-6)
    # 1.959963984540054 = Φ⁻¹(0.975), the two-sided 95 % normal quantile
    assert res.ci_lower == pytest.approx(np.exp(np.log(res.odds_ratio) - 1.959963984540054 * se), rel=1e-6)
    props = res.proportions.set_index("arm")
    assert props.loc["TRT", "proportion"] == pytest.approx(0.3) and props.loc["PBO", "responders"] == 6


def test_threshold_is_inclusive_and_configurable() -> None:
    df = pd.DataFrame({"arm": [0, 0, 1, 1] * 5, "chg": [1.25, 1.0, 1.25, 1.5] * 5, "pre": 0.0, "post": 0.0})
    res = responder_analysis(df.assign(chg=[0.0, 1.3, 1.25, 0.0] * 5), arm="arm", slope_change="chg")
    assert res.proportions["responders"].tolist() == [5, 5]
    res2 = responder_analysis(
        df.assign(pre=-1.0, post=[0.0, 0.6, 0.6, -0.9] * 5),
        arm="arm",
        pre_slope="pre",
        post_slope="post",
        threshold=1.5,
    )
    # post - pre = 1.0, 1.6, 1.6, 0.1 -> one responder per arm per block
    assert res2.proportions["responders"].tolist() == [5, 5] and res2.threshold == 1.5


def _simulated(n: int, seed: int, log_or: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, 2, n)
    base = rng.normal(31, 6, n)
    onset = rng.normal(19, 5, n)
    site = rng.choice(["limb", "limb+bulbar"], n, p=[0.8, 0.2])
    ril = rng.integers(0, 2, n)
    pre = rng.normal(-1.2, 0.4, n)
    lin = -1.0 + log_or * arm + 0.03 * (base - 31) - 0.4 * (site == "limb+bulbar") + 0.5 * (pre + 1.2)
    resp = rng.random(n) < 1 / (1 + np.exp(-lin))
    change = np.where(resp, rng.uniform(1.25, 3, n), rng.uniform(-2, 1.2, n))
    return pd.DataFrame(
        {
            "arm": np.where(arm == 1, "MSC", "PBO"),
            "base": base,
            "onset": onset,
            "site": site,
            "riluzole": ril,
            "pre": pre,
            "post": pre + change,
        }
    )


def test_simulated_known_odds_ratio_is_within_ci() -> None:
    true_or = 2.5
    res = responder_analysis(
        _simulated(3000, 11, np.log(true_or)),
        arm="arm",
        pre_slope="pre",
        post_slope="post",
        covariates=["base", "onset", "site", "riluzole", "pre"],
        reference="PBO",
    )
    assert res.arms == ("PBO", "MSC")
    assert res.ci_lower < true_or < res.ci_upper
    assert "site[limb+bulbar]" in set(res.summary["term"])
    assert res.to_dict()["odds_ratio"] == res.odds_ratio
    assert "odds ratio" in str(res)


def test_missing_rules() -> None:
    df = _simulated(200, 3, 0.5)
    df.loc[:9, "post"] = np.nan
    excl = responder_analysis(df, arm="arm", pre_slope="pre", post_slope="post")
    assert excl.n == 190 and excl.n_excluded == 10
    nonr = responder_analysis(df, arm="arm", pre_slope="pre", post_slope="post", missing="nonresponder")
    assert nonr.n == 200 and nonr.proportions["responders"].sum() == excl.proportions["responders"].sum()


def test_separation_and_bad_options_are_clear_errors() -> None:
    df = pd.DataFrame({"arm": [0] * 10 + [1] * 10, "chg": [0.0] * 10 + [2.0] * 10})
    with pytest.raises(EndpointDataError, match="separation"):
        responder_analysis(df, arm="arm", slope_change="chg")
    with pytest.raises(EndpointDataError, match="expected one of 'exclude', 'nonresponder' \\(not 'drop'\\)"):
        responder_analysis(df, arm="arm", slope_change="chg", missing="drop")  # type: ignore[arg-type]
    with pytest.raises(EndpointDataError, match="column\\(s\\) 'nope' not found"):
        responder_analysis(df, arm="arm", slope_change="nope")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"slope_change": "chg", "conf_level": 0.0}, "responder: conf_level must be between 0 and 1 (not 0.0)"),
        ({"slope_change": "chg", "conf_level": 1.0}, "responder: conf_level must be between 0 and 1 (not 1.0)"),
        ({"slope_change": "chg", "conf_level": 1.5}, "responder: conf_level must be between 0 and 1 (not 1.5)"),
        ({"pre_slope": "pre"}, "responder: give slope_change, or both pre_slope and post_slope"),
        ({"post_slope": "post"}, "responder: give slope_change, or both pre_slope and post_slope"),
        ({"pre_slope": "pre", "post_slope": "nope"}, "responder: column(s) 'nope' not found"),
        ({"slope_change": "txt"}, "responder: column 'txt' must be numeric"),
        ({"pre_slope": "txt", "post_slope": "post"}, "responder: column 'txt' must be numeric"),
        ({"pre_slope": "pre", "post_slope": "txt"}, "responder: column 'txt' must be numeric"),
        ({"slope_change": "chg", "covariates": ["site"]}, "responder: covariate 'site' has a single level 'S1'"),
        ({"slope_change": "gap"}, "responder: no participant has a slope change and complete covariates"),
        ({"slope_change": "gap_b"}, "responder: an arm has no analysable participant ([{'arm': 'A', 'n': 5,"),
    ],
)
def test_each_bad_argument_names_the_endpoint_and_the_value(kwargs: dict[str, object], message: str) -> None:
    df = pd.DataFrame({"arm": ["A", "B"] * 5, "chg": 1.0, "pre": -1.0, "post": 0.0, "txt": list("abcdefghij")})
    # "gap": no slope at all; "gap_b": arm B has none (its proportion would divide by zero); one site only
    df = df.assign(gap=np.nan, gap_b=[1.0, np.nan] * 5, site="S1")
    with pytest.raises(EndpointDataError) as err:
        responder_analysis(df, arm="arm", **kwargs)  # type: ignore[arg-type]
    assert str(err.value).startswith(message)
    with pytest.raises(EndpointDataError, match=r"^responder: arm column 'arm' must have exactly 2 levels"):
        responder_analysis(df.assign(arm=[*"ABC" * 3, "A"]), arm="arm", slope_change="chg")


def test_a_missing_slope_is_excluded_whichever_column_it_is_in() -> None:
    change = [2.0, 0.0, 1.5, 0.1, np.nan, 2.0, 0.0, 3.0, 1.0, 2.0]
    df = pd.DataFrame({"arm": ["A", "B"] * 5, "chg": change, "pre": -1.0, "post": np.subtract(change, 1.0)})
    res = responder_analysis(df, arm="arm", slope_change="chg")
    assert (res.n, res.n_excluded) == (9, 1)
    for col in ("pre", "post"):
        with_gap = df.assign(chg=1.0, **{col: df[col].where(df.index != 0)})
        res = responder_analysis(with_gap, arm="arm", pre_slope="pre", post_slope="post")
        assert (res.n, res.n_excluded) == (8, 2), col  # rows 0 and 4
    # a missing covariate excludes its row too (rows 4 and 7): the fit sees complete rows only
    base = df.assign(age=[50.0, 61, 47, 55, 58, 52, 49, np.nan, 60, 45])
    res = responder_analysis(base, arm="arm", slope_change="chg", covariates=["age"])
    assert (res.n, res.n_excluded) == (8, 2)


def test_printed_summary_and_plain_dict_of_the_2x2_example() -> None:
    # Same table as above: TRT 12/40, PBO 6/40, OR = 12·34 / (28·6) = 2.4286, 95 % Wald CI exp(log OR ± 1.96·SE).
    change = np.r_[np.full(12, 2.0), np.full(28, 0.0), np.full(6, 2.0), np.full(34, 0.0)]
    res = responder_analysis(
        pd.DataFrame({"arm": ["TRT"] * 40 + ["PBO"] * 40, "chg": change}), arm="arm", slope_change="chg"
    )
    text = str(res)
    assert text.startswith("<ResponderResult: 'TRT' vs 'PBO'>")
    for line in (
        "responder rule = post - pre slope >= 1.25 points/month",
        "n analysed     = 80 (excluded 0, missing rule 'exclude')",
        f"odds ratio     = 2.429 (95% CI {res.ci_lower:.4g} to {res.ci_upper:.4g})",
        f"p (Wald)       = {res.p_value:g}",
    ):
        assert line in text, line
    assert ["PBO", "40", "6", "0.15"] in [row.split() for row in text.splitlines()]
    lines = text.splitlines()
    blank = lines.index("")
    assert lines[blank + 1].split()[:2] == ["n", "responders"]  # the per-arm table, after one blank line
    blank = lines.index("", blank + 1)
    assert lines[blank + 1].split() == [
        "estimate",
        "std_error",
        "odds_ratio",
        "statistic",
        "p_value",
        "ci_lower",
        "ci_upper",
    ]
    # six significant digits: log(6/34), SE √(1/6 + 1/34), odds 6/34, Wald z, p, CI
    assert lines[-2].split() == [
        "intercept",
        "-1.7346",
        "0.442807",
        "0.176471",
        "-3.91728",
        "8.95534e-05",
        "0.074089",
        "0.42033",
    ]
    assert lines[-1].split()[0] == "arm[TRT]"
    d = res.to_dict()
    assert list(d) == [
        "arms", "threshold", "covariates", "missing_rule", "n", "n_excluded", "odds_ratio", "ci_lower", "ci_upper",
        "p_value", "log_odds_ratio", "std_error", "conf_level", "proportions", "terms", "notes",
    ]  # fmt: skip
    assert (d["arms"], d["threshold"], d["covariates"], d["missing_rule"], d["n"], d["n_excluded"]) == (
        ["PBO", "TRT"], 1.25, [], "exclude", 80, 0,
    )  # fmt: skip
    assert d["odds_ratio"] == pytest.approx(12 * 34 / (28 * 6), rel=1e-7)
    assert d["log_odds_ratio"] == pytest.approx(np.log(12 * 34 / (28 * 6)), rel=1e-7)
    assert d["std_error"] == pytest.approx(np.sqrt(1 / 12 + 1 / 28 + 1 / 6 + 1 / 34), rel=1e-6)
    assert (d["ci_lower"], d["ci_upper"], d["p_value"]) == (res.ci_lower, res.ci_upper, res.p_value)
    assert d["conf_level"] == 0.95 and d["notes"] == []
    assert d["proportions"][1] == {"arm": "TRT", "n": 40, "responders": 12, "proportion": 0.3}
    assert [t["term"] for t in d["terms"]] == ["intercept", "arm[TRT]"]
    assert d["terms"][0]["estimate"] == pytest.approx(np.log(6 / 34), rel=1e-6)  # placebo log-odds
    # a 90 % interval is exp(log OR ± z(0.95)·SE)
    res90 = responder_analysis(
        pd.DataFrame({"arm": ["TRT"] * 40 + ["PBO"] * 40, "chg": change}), arm="arm", slope_change="chg", conf_level=0.9
    )
    se = np.sqrt(1 / 12 + 1 / 28 + 1 / 6 + 1 / 34)
    assert res90.ci_lower == pytest.approx(12 * 34 / (28 * 6) * np.exp(-1.6448536269514722 * se), rel=1e-6)
    assert "(90% CI " in str(res90)


@pytest.mark.parametrize(
    ("parameters", "text"),
    [
        (
            {},
            "pre-treatment slope: least squares; post-treatment slope: least squares; "
            "no post-treatment slope: excluded",
        ),
        (
            {"pre_slope_method": "two_point", "post_slope_method": "two_point", "missing_post_slope": "nonresponder"},
            "pre-treatment slope: two-point; post-treatment slope: two-point; no post-treatment slope: non-responder",
        ),
        (
            {"pre_slope_method": "onset_dfs"},
            "pre-treatment slope: onset-based ΔFS; post-treatment slope: least squares",
        ),
    ],
)
def test_slope_rule_prints_the_protocol_choice(parameters: dict[str, str], text: str) -> None:
    assert str(SlopeRule.from_parameters(parameters)).startswith(text)


def test_pre_treatment_slope_ends_at_day_0_by_default() -> None:
    # screening −61 days (40), run-in −30 (39), baseline day 0 (38), first post visit on day 1 (30):
    # the pre-treatment slope uses the first three only, two-point = (38 − 40) / (61 / 30.4375) points/month
    long = pd.DataFrame({"id": "a", "day": [-61, -30, 0, 1], "total": [40.0, 39.0, 38.0, 30.0]})
    rule = SlopeRule.from_parameters({"pre_slope_method": "two_point"})
    pre = pre_treatment_slopes(long, rule, subject="id", day="day", score="total")
    assert pre["a"] == pytest.approx((38 - 40) / (61 / DAYS_PER_MONTH))


def test_edge_subjects_count_zero_visits_and_give_no_slope() -> None:
    """s1: pre visits only (no post period), so n_post = 0; s2: no pre visit (none on or before day 0),
    so n_pre = 0 and no baseline; s3: two pre visits on one day (span 0) and a missing score, which is
    dropped: no pre slope rather than a division by zero."""
    long = pd.DataFrame(
        {
            "id": ["s1", "s1", "s2", "s2", "s3", "s3", "s3", "s3"],
            "day": [-60.0, -30.0, 30.0, 60.0, -30.0, -30.0, 0.0, 90.0],
            "total": [40.0, 38.0, 35.0, 33.0, 41.0, 40.0, np.nan, 37.0],
        }
    )
    out = derive_pre_post_slopes(long, subject="id", day="day", score="total").set_index("id")
    assert out["n_pre"].to_dict() == {"s1": 2, "s2": 0, "s3": 2}
    # s1's post period is its baseline alone; s3's starts with both day −30 visits
    assert out["n_post"].to_dict() == {"s1": 1, "s2": 0, "s3": 3}
    assert np.isnan(out.loc["s3", "pre_slope"]) and np.isnan(out.loc["s2", "baseline_score"])
    # s3: baseline score is the last pre visit (40); the two-point post slope joins the period's first
    # row (day −30, 41, input order kept) and its last (day 90, 37): 120 days
    assert out.loc["s3", "baseline_score"] == 40
    assert out.loc["s3", "post_slope"] == pytest.approx((37 - 41) / (120 / DAYS_PER_MONTH))


def test_onset_dfs_with_zero_months_gives_no_slope_without_a_warning() -> None:
    """−(48 − baseline)/months is undefined at 0 months: NaN, and no division warning (warnings are
    errors in this suite)."""
    long = pd.DataFrame({"id": ["a", "a", "b", "b"], "day": [-30.0, 0.0, -30.0, 0.0], "total": [40, 38, 48, 48]})
    out = derive_pre_post_slopes(
        long, subject="id", day="day", score="total", pre_method="onset_dfs", months_since_onset={"a": 0.0, "b": 0.0}
    )
    assert out["pre_slope"].isna().all()
    # months are matched by subject, whatever the mapping's order: a 5 months, b 10 months
    out = derive_pre_post_slopes(
        long, subject="id", day="day", score="total", pre_method="onset_dfs", months_since_onset={"b": 10.0, "a": 5.0}
    ).set_index("id")
    assert out["pre_slope"].to_dict() == {"a": -(48 - 38) / 5.0, "b": -(48 - 48) / 10.0}
    with pytest.raises(EndpointDataError) as err:
        derive_pre_post_slopes(long, subject="id", day="day", score="total", pre_method="ols")
    assert str(err.value) == (
        "invalid value for pre_method, expected one of ['least_squares', 'two_point', 'onset_dfs'] (not 'ols')"
    )


def _two_by_two() -> pd.DataFrame:
    change = np.r_[np.full(12, 2.0), np.full(28, 0.0), np.full(6, 2.0), np.full(34, 0.0)]
    return pd.DataFrame({"arm": ["TRT"] * 40 + ["PBO"] * 40, "chg": change})


def test_an_engine_failure_is_a_clear_error_and_engine_warnings_become_notes(monkeypatch) -> None:
    """statsmodels failing (here made to raise) is reported as the analysis's own error, with the
    engine's reason; a warning it gives (here a made-up convergence note) is kept in ``notes``."""
    import warnings

    import alstrial.stats.responder as responder

    real_glm = responder.sm.GLM

    class Failing:
        def __init__(self, *args, **kwargs) -> None:
            pass

        def fit(self):
            raise np.linalg.LinAlgError("Singular matrix")

    class Noisy:
        def __init__(self, *args, **kwargs) -> None:
            self._model = real_glm(*args, **kwargs)

        def fit(self):
            warnings.warn("IRLS reached the iteration limit", RuntimeWarning, stacklevel=1)
            return self._model.fit()

    monkeypatch.setattr(responder.sm, "GLM", Failing)
    with pytest.raises(EndpointDataError) as err:
        responder_analysis(_two_by_two(), arm="arm", slope_change="chg")
    assert str(err.value) == "responder: logistic regression failed: Singular matrix"
    monkeypatch.setattr(responder.sm, "GLM", Noisy)
    res = responder_analysis(_two_by_two(), arm="arm", slope_change="chg")
    assert res.notes == ("IRLS reached the iteration limit",)
    assert res.odds_ratio == pytest.approx(12 * 34 / (28 * 6), rel=1e-7)  # the 2×2 table above


def test_minus_infinity_is_a_composite_failure_counted_as_a_non_responder() -> None:
    """−∞ marks death or permanent ventilation before the visit (analysis.slope_rule): analysed, never a
    responder — unlike NaN (no slope), which is excluded."""
    change = [2.0, 0.0, 1.5, -np.inf, 2.0, 0.0, 3.0, 1.0, -np.inf, 2.0]
    res = responder_analysis(pd.DataFrame({"arm": ["A", "B"] * 5, "chg": change}), arm="arm", slope_change="chg")
    assert (res.n, res.n_excluded) == (10, 0)
    by_arm = res.proportions.set_index("arm")["responders"].to_dict()
    # arms alternate A, B; threshold 1.25: A has 2.0, 1.5, 2.0, 3.0 and -inf (row 8) -> 4 of 5;
    # B has 0.0, -inf (row 3), 0.0, 1.0, 2.0 -> 1 of 5
    assert by_arm == {"A": 4, "B": 1}

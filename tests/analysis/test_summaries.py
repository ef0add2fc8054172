"""CONSORT counts, baseline table and dropouts on a small hand-made ADSL with known answers."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from alstrial.analysis import summaries

NAN = np.nan
COLUMNS = [
    "USUBJID",
    "ARM",
    "AGE",
    "SEX",
    "ONSETREG",
    "RILUZFL",
    "MOSONSET",
    "ELIGFL",
    "FAILCRIT",
    "RANDFL",
    "SAFFL",
    "COMPLFL",
    "DCSREAS",
    "BASEALS",
    "PRESLOPE",
    "SVCBL",
]
ROWS = [
    # three screen failures (one failed two criteria), one eligible but never randomized
    ("S1", None, 63, "M", "limb", True, 30.0, False, "IN1;IN4", False, False, False, "", NAN, NAN, NAN),
    ("S2", None, 50, "F", "bulbar", False, 10.0, False, "IN4", False, False, False, "", NAN, NAN, NAN),
    ("S3", None, 44, "M", "limb", True, 12.0, False, "IN6", False, False, False, "", NAN, NAN, NAN),
    ("E1", None, 39, "F", "limb", True, 8.0, True, "", False, False, False, "", NAN, NAN, NAN),
    # MSC: one completer, one early dropout after dosing, one never dosed with no baseline (NaN)
    ("A1", "MSC", 45, "F", "limb", True, 12.0, True, "", True, True, True, "", 40.0, -1.0, 80.0),
    ("A2", "MSC", 52, "M", "bulbar", False, 18.0, True, "", True, True, False, "adverse_event", 24.0, -2.0, 70.0),
    ("A3", "MSC", 38, "M", "limb", True, 6.0, True, "", True, False, False, "withdrawal_by_subject", NAN, NAN, NAN),
    # PBO: one completer, one dropout
    ("P1", "PBO", 60, "F", "limb", True, 20.0, True, "", True, True, True, "", 30.0, -1.5, 90.0),
    ("P2", "PBO", 41, "M", "limb", False, 10.0, True, "", True, True, False, "adverse_event", 36.0, -0.5, 75.0),
]
ARMS = ["MSC", "PBO", "LOW"]  # LOW: an arm nobody was randomized to


@pytest.fixture
def adsl() -> pd.DataFrame:
    return pd.DataFrame(ROWS, columns=COLUMNS)


def test_consort_counts_screen_failures_per_criterion_and_flow_per_arm(adsl: pd.DataFrame) -> None:
    c = summaries.consort(adsl, ARMS)
    assert c["screened"] == 9
    assert c["screen_failed"] == 3
    # a participant failing two criteria counts once per criterion
    assert c["screen_fail_reasons"] == {"IN1": 1, "IN4": 2, "IN6": 1}
    assert c["eligible_not_randomized"] == 1
    assert c["randomized"] == 5
    assert c["arms"]["MSC"] == {
        "randomized": 3,
        "treated": 2,
        "completed": 1,
        "discontinued": 2,
        "discontinuation_reasons": {"adverse_event": 1, "withdrawal_by_subject": 1},
    }
    assert c["arms"]["PBO"] == {
        "randomized": 2,
        "treated": 2,
        "completed": 1,
        "discontinued": 1,
        "discontinuation_reasons": {"adverse_event": 1},
    }
    assert c["arms"]["LOW"] == {
        "randomized": 0,
        "treated": 0,
        "completed": 0,
        "discontinued": 0,
        "discontinuation_reasons": {},
    }
    json.dumps(c)  # plain JSON-able types only


def test_baseline_means_sds_and_percentages_by_arm(adsl: pd.DataFrame) -> None:
    b = summaries.baseline(adsl, ARMS)
    msc, pbo = b["MSC"], b["PBO"]
    assert msc["n"] == 3
    assert msc["age_mean"] == 45.0  # (45 + 52 + 38) / 3
    assert msc["age_sd"] == 7.0  # deviations 0, 7, -7: variance 98 / 2
    assert msc["female_pct"] == 33.3
    assert msc["limb_onset_pct"] == 66.7
    assert msc["riluzole_pct"] == 66.7
    assert msc["months_since_onset_mean"] == 12.0
    # A3 has no baseline: means and SDs skip it, and percentages are of the known values (1 of 2)
    assert msc["alsfrs_r_mean"] == 32.0
    assert msc["alsfrs_r_sd"] == pytest.approx(math.sqrt(128), abs=0.005)
    assert msc["alsfrs_r_le25_pct"] == 50.0
    assert msc["pre_slope_mean"] == -1.5
    assert msc["svc_mean"] == 75.0

    assert pbo["n"] == 2
    assert pbo["age_mean"] == 50.5
    assert pbo["age_sd"] == pytest.approx(19 / math.sqrt(2), abs=0.005)
    assert (pbo["female_pct"], pbo["limb_onset_pct"], pbo["riluzole_pct"]) == (50.0, 100.0, 50.0)
    assert (pbo["alsfrs_r_mean"], pbo["alsfrs_r_le25_pct"], pbo["svc_mean"]) == (33.0, 0.0, 82.5)


def test_baseline_of_an_empty_arm_is_none_not_nan(adsl: pd.DataFrame) -> None:
    low = summaries.baseline(adsl, ARMS)["LOW"]
    assert low["n"] == 0
    assert all(v is None for k, v in low.items() if k != "n"), low
    # a single participant has a mean but no SD
    one = summaries.baseline(adsl[adsl["USUBJID"] != "P2"], ARMS)["PBO"]
    assert one["age_mean"] == 60.0 and one["age_sd"] is None
    json.dumps(summaries.baseline(adsl, ARMS), allow_nan=False)


def test_dropouts_by_sex_age_decade_and_reason(adsl: pd.DataFrame) -> None:
    d = summaries.dropouts(adsl)
    assert d["total"] == 3  # A2 (52, M), A3 (38, M), P2 (41, M); screen failures never count
    assert d["by_sex"] == {"M": 3}
    assert d["by_age_decade"] == {"30s": 1, "40s": 1, "50s": 1}
    assert d["randomized_by_age_decade"] == {"30s": 1, "40s": 2, "50s": 1, "60s": 1}
    assert d["rate_by_sex"] == {"F": 0.0, "M": 1.0}
    assert d["reasons"] == {"adverse_event": 2, "withdrawal_by_subject": 1}


def test_dropouts_with_an_unknown_age_and_with_nobody_leaving(adsl: pd.DataFrame) -> None:
    adsl.loc[adsl["USUBJID"] == "A3", "AGE"] = NAN
    d = summaries.dropouts(adsl)
    assert d["by_age_decade"] == {"40s": 1, "50s": 1, "unknown": 1}
    nobody = adsl.assign(COMPLFL=adsl["RANDFL"])
    d = summaries.dropouts(nobody)
    assert d["total"] == 0 and d["by_sex"] == {} and d["by_age_decade"] == {} and d["reasons"] == {}
    assert d["rate_by_sex"] == {"F": 0.0, "M": 0.0}


def test_age_decade_labels() -> None:
    ages = pd.Series([18.0, 29.9, 30.0, 60.0, NAN])
    assert summaries.age_decade(ages).tolist() == ["10s", "20s", "30s", "60s", "unknown"]

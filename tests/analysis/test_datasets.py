"""The analysis dataset contract and change from baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alstrial.analysis.datasets import (
    ADLB_COLUMNS,
    ADQS_COLUMNS,
    ADQSRI_COLUMNS,
    ADSL_COLUMNS,
    ADTTE_COLUMNS,
    AnalysisDatasets,
    add_change_from_baseline,
)


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({c: [] for c in columns})


def _datasets(**override: pd.DataFrame) -> AnalysisDatasets:
    frames = {
        "adsl": _empty(ADSL_COLUMNS),
        "adqs": _empty(ADQS_COLUMNS),
        "adqs_runin": _empty(ADQSRI_COLUMNS),
        "adlb": _empty(ADLB_COLUMNS),
        "adtte": _empty(ADTTE_COLUMNS),
    }
    frames.update(override)
    return AnalysisDatasets(**frames)


def test_complete_frames_are_accepted() -> None:
    ds = _datasets()
    assert list(ds.adsl.columns) == list(ADSL_COLUMNS)


@pytest.mark.parametrize(
    ("frame", "columns", "name", "drop"),
    [
        ("adsl", ADSL_COLUMNS, "ADSL", "FASFL"),
        ("adqs", ADQS_COLUMNS, "ADQS", "CHG"),
        ("adqs_runin", ADQSRI_COLUMNS, "ADQSRI", "ADY"),
        ("adlb", ADLB_COLUMNS, "ADLB", "BLQFL"),
        ("adtte", ADTTE_COLUMNS, "ADTTE", "CNSR"),
    ],
)
def test_a_missing_column_is_named_in_the_error(frame: str, columns: tuple[str, ...], name: str, drop: str) -> None:
    bad = _empty(tuple(c for c in columns if c != drop))
    with pytest.raises(ValueError, match=rf"{name} lacks required column\(s\) \['{drop}'\]"):
        _datasets(**{frame: bad})


def test_randomized_and_full_analysis_set_views() -> None:
    adsl = pd.DataFrame({c: [None, None, None] for c in ADSL_COLUMNS})
    adsl["USUBJID"] = ["A", "B", "C"]
    adsl["RANDFL"] = [True, True, False]
    adsl["FASFL"] = [True, False, False]
    ds = _datasets(adsl=adsl)
    assert ds.randomized["USUBJID"].tolist() == ["A", "B"]
    assert ds.fas["USUBJID"].tolist() == ["A"]


def test_add_change_from_baseline() -> None:
    long = pd.DataFrame(
        {
            "USUBJID": ["A", "A", "A", "B", "B", "C"],
            "AVISIT": ["W0", "W4", "W8", "W0", "W4", "W4"],  # C has no baseline
            "AVAL": [40.0, 38.0, 35.0, 30.0, 31.0, 20.0],
        }
    )
    out = add_change_from_baseline(long, baseline_visit="W0")
    assert out["BASE"].tolist()[:5] == [40.0, 40.0, 40.0, 30.0, 30.0]
    assert out["CHG"].tolist()[:5] == [0.0, -2.0, -5.0, 0.0, 1.0]
    assert np.isnan(out["BASE"].iloc[5]) and np.isnan(out["CHG"].iloc[5])
    # running it again replaces BASE/CHG instead of adding suffixed copies
    again = add_change_from_baseline(out.assign(AVAL=out["AVAL"] + 1), baseline_visit="W0")
    assert list(again.columns) == ["USUBJID", "AVISIT", "AVAL", "BASE", "CHG"]
    assert again["BASE"].iloc[0] == 41.0 and again["CHG"].iloc[1] == -2.0

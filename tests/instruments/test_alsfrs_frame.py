"""score_frame: cell parsing by dtype, row numbering, problems, output columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alstrial.errors import ValidationFailed
from alstrial.instruments.alsfrs_frame import KINGS_DTYPE, SCORE_COLUMNS, FrameColumnsError, score_frame
from alstrial.instruments.alsfrs_r import ITEM_CODES

NORMAL = {c: 4 for c in ITEM_CODES if c != "q5b"}


def frame(*rows: dict[str, object], **kwargs: object) -> pd.DataFrame:
    df = pd.DataFrame([{**NORMAL, **r} for r in rows], columns=list(ITEM_CODES), **kwargs)  # type: ignore[arg-type]
    return df


def test_scores_int_columns_and_adds_typed_columns() -> None:
    df = pd.DataFrame([NORMAL, {**NORMAL, "q1": 1, "q4": 1, "q12": 2}]).astype("int64")
    result = score_frame(df)
    assert result.ok and result.n_rows == 2 and result.n_invalid == 0
    out = result.frame
    assert list(out.columns) == list(df.columns) + list(SCORE_COLUMNS)
    assert out["total"].tolist() == [48, 40]
    assert out["kings_stage"].tolist() == ["0", "4B"]
    assert out["mitos_stage"].tolist() == [0, 2]
    assert out["total"].dtype == "Int64"
    assert out["kings_stage"].dtype == KINGS_DTYPE
    assert (out["kings_stage"] > "3").tolist() == [False, True]  # ordered by severity
    assert "months_since_onset" not in out and "delta_fs" not in out
    assert "delta_fs" not in df.columns and "total" not in df.columns  # input untouched


def test_text_cells_as_read_from_csv() -> None:
    df = frame(
        {"q1": " 3 ", "q2": "3.0", "q3": "03", "q5b": ""},
        {"q1": "abc", "q2": "2.5", "q3": "5", "q4": "-1", "q5b": "", "q6": "inf", "q7": "True"},
        dtype=str,
    )
    df = df.fillna("")
    result = score_frame(df)
    assert result.frame["total"].iloc[0] == 45
    wheres = [(p.where, p.value) for p in result.problems]
    assert wheres == [
        ("row 2, column q1", "abc"),
        ("row 2, column q2", "2.5"),
        ("row 2, column q3", "5"),
        ("row 2, column q4", "-1"),
        ("row 2, column q6", "inf"),
        ("row 2, column q7", "True"),
    ]
    reasons = [p.reason for p in result.problems]
    assert reasons[0] == "item 1 (Speech) must be a whole number 0–4 (4 = normal); the value is not a number"
    assert "not a fraction" in reasons[1] and "out of range" in reasons[2] and "out of range" in reasons[3]
    assert "not a number" in reasons[4]  # "inf" is not a score someone typed
    assert pd.isna(result.frame["total"].iloc[1])


def test_single_character_fast_path_catches_letters_and_digits_above_4() -> None:
    df = frame({"q1": "x", "q2": "9", "q3": " "}, dtype=str).fillna("")
    result = score_frame(df)
    assert [(p.where, p.value) for p in result.problems] == [
        ("row 1, column q1", "x"),
        ("row 1, column q2", "9"),
        ("row 1, column q3", " "),
    ]
    assert result.problems[2].reason == "item 3 (Swallowing) is missing"


def test_float_columns_with_blanks_and_nullable_ints() -> None:
    df = frame({"q5a": np.nan, "q5b": 2.0}, {"q7": 2.5})
    assert df["q5a"].dtype == float
    result = score_frame(df)
    assert [p.where for p in result.problems] == ["row 2, column q7"]
    assert result.problems[0].value == 2.5
    assert result.frame["kings_stage"].iloc[0] == "4A"
    nullable = frame({"q5a": None, "q5b": 1}, {}).astype("Int64")
    assert score_frame(nullable).frame["fine_motor"].tolist() == [9, 12]


def test_bool_column_is_rejected() -> None:
    df = frame({}, {})
    df["q9"] = [True, False]
    result = score_frame(df)
    assert [p.where for p in result.problems] == ["row 1, column q9", "row 2, column q9"]
    assert "not true/false" in result.problems[0].reason


def test_rows_are_numbered_from_one_by_position_not_index() -> None:
    df = frame({}, {"q3": 9}, {}, {"q8": None})
    df.index = [100, 7, 7, -3]
    result = score_frame(df)
    assert [p.where for p in result.problems] == ["row 2, column q3", "row 4, column q8"]
    assert result.problems[1].value == ""
    assert result.invalid_rows.tolist() == [1, 3]
    assert result.frame["total"].isna().tolist() == [False, True, False, True]


def test_item5_rules_per_row() -> None:
    df = frame({"q5b": 3}, {"q5a": None})
    result = score_frame(df)
    assert [(p.where, p.value) for p in result.problems] == [
        ("row 1, column q5a/q5b", "q5a=4, q5b=3"),
        ("row 2, column q5a/q5b", ""),
    ]
    assert "exactly one" in result.problems[0].reason
    assert "item 5 is missing" in result.problems[1].reason


def test_q5a_or_q5b_column_may_be_absent() -> None:
    df = pd.DataFrame([NORMAL])
    assert "q5b" not in df
    assert score_frame(df).frame["total"].tolist() == [48]
    only_b = pd.DataFrame([{**{k: v for k, v in NORMAL.items() if k != "q5a"}, "q5b": 3}])
    assert score_frame(only_b).frame["kings_stage"].tolist() == ["4A"]


def test_problems_are_sorted_by_row_then_item_order() -> None:
    df = frame({"q12": 7, "q1": 7}, {"q10": 7, "q2": 7})
    assert [p.where for p in score_frame(df).problems] == [
        "row 1, column q1",
        "row 1, column q12",
        "row 2, column q2",
        "row 2, column q10",
    ]


def test_delta_fs_from_months_column_blank_allowed_bad_reported() -> None:
    df = frame({}, {"q1": 0}, {}, {}, {}, dtype=object)
    df["months_since_onset"] = ["12", "24", "", "0", "soon"]
    result = score_frame(df)
    dfs = result.frame["delta_fs"].tolist()
    assert dfs[0] == 0.0 and dfs[1] == pytest.approx(4 / 24)
    assert all(np.isnan(dfs[2:]))
    assert [(p.where, p.value) for p in result.problems] == [
        ("row 4, column months_since_onset", "0"),
        ("row 5, column months_since_onset", "soon"),
    ]
    assert "greater than 0" in result.problems[0].reason
    # the items of rows 4 and 5 are fine, so they are still scored
    assert result.frame["total"].tolist()[3:] == [48, 48]
    numeric = frame({}, {})
    numeric["months_since_onset"] = [6.0, -1.0]
    assert [p.where for p in score_frame(numeric).problems] == ["row 2, column months_since_onset"]
    assert score_frame(numeric, months_column=None).ok


def test_column_errors() -> None:
    df = pd.DataFrame([NORMAL]).drop(columns=["q3", "q11"])
    with pytest.raises(FrameColumnsError, match="missing required ALSFRS-R column"):
        score_frame(df)
    try:
        score_frame(df)
    except FrameColumnsError as e:
        assert "q3, q11" in str(e)
    renamed = pd.DataFrame([NORMAL]).rename(columns={"q3": "Q3"})
    with pytest.raises(FrameColumnsError, match="case-sensitive: rename 'Q3' → 'q3'"):
        score_frame(renamed)
    no5 = pd.DataFrame([NORMAL]).drop(columns=["q5a"])
    with pytest.raises(FrameColumnsError, match="q5a or q5b"):
        score_frame(no5)
    clash = pd.DataFrame([{**NORMAL, "total": 1}])
    with pytest.raises(FrameColumnsError, match="'total'"):
        score_frame(clash)
    dup = pd.DataFrame([[4] * 13], columns=[*ITEM_CODES[:-1], "q1"])
    with pytest.raises(FrameColumnsError, match="duplicate"):
        score_frame(dup)
    with pytest.raises(TypeError, match="DataFrame"):
        score_frame([NORMAL])  # type: ignore[arg-type]


def test_empty_frame_and_result_object() -> None:
    empty = pd.DataFrame(columns=list(ITEM_CODES))
    result = score_frame(empty)
    assert result.ok and result.n_rows == 0 and list(result.frame.columns)[-1] == "mitos_stage"
    bad = score_frame(frame({"q1": 9}, {}))
    assert bad.to_dict()["n_invalid"] == 1 and bad.to_dict()["n_valid"] == 1
    assert bad.to_dict()["problems"][0]["where"] == "row 1, column q1"
    assert "1 invalid, 1 problem(s)" in str(bad) and "row 1, column q1: value 9" in str(bad)
    assert "no problems" in str(score_frame(frame({})))
    with pytest.raises(ValidationFailed) as exc:
        bad.raise_for_problems()
    assert exc.value.problems == bad.problems

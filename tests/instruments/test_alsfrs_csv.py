"""CSV reading/writing of visit tables: text kept as typed, quoting, blanks, atomic writes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alstrial.instruments.alsfrs_csv import (
    AlsfrsCsvError,
    example_csv_text,
    read_alsfrs_csv,
    write_csv_atomic,
    write_scored_csv,
)
from alstrial.instruments.alsfrs_frame import score_frame
from alstrial.instruments.alsfrs_r import ITEM_CODES

ITEMS = ",".join(c for c in ITEM_CODES)


def test_quoted_cells_survive_a_round_trip(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(
        f'id,name,comment,{ITEMS}\n007,"Smith, J","said ""fine""\nsecond line",4,4,4,4,4,,4,4,4,4,4,4,4\n',
        encoding="utf-8",
    )
    df = read_alsfrs_csv(src)
    assert df.loc[0, "id"] == "007" and df.loc[0, "name"] == "Smith, J"
    assert df.loc[0, "comment"] == 'said "fine"\nsecond line'
    buf = io.StringIO()
    write_scored_csv(score_frame(df).frame, buf)
    text = buf.getvalue()
    assert text.startswith(f"id,name,comment,{ITEMS},total,")
    assert '007,"Smith, J","said ""fine""\nsecond line",4,4,4,4,4,,4' in text
    back = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert back.loc[0, "comment"] == 'said "fine"\nsecond line' and back.loc[0, "total"] == "48"


def test_missing_values_are_written_blank_and_delta_fs_rounded() -> None:
    df = pd.DataFrame(
        {
            **{c: [4, 9] for c in ITEM_CODES if c != "q5b"},
            "q5b": [np.nan, np.nan],
            "months_since_onset": [7.0, 3.0],
            "weight": [70.5, np.nan],
        }
    )
    result = score_frame(df)
    buf = io.StringIO()
    write_scored_csv(result.frame, buf)
    lines = buf.getvalue().splitlines()
    assert lines[1].endswith(",7.0,70.5,48,12,12,12,12,0,0,0.0")
    # row 2 is invalid: its scores and ΔFS are blank, and the blank weight stays blank
    assert lines[2].endswith(",3.0,,,,,,,,,")
    df.loc[0, "q1"] = 3
    buf = io.StringIO()
    write_scored_csv(score_frame(df.iloc[:1]).frame, buf)
    assert buf.getvalue().splitlines()[1].endswith(",0.1429")  # 1/7 to 4 decimals


def test_atomic_write_leaves_nothing_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n")

    def boom(frame: pd.DataFrame, out: io.StringIO) -> None:
        out.write("partial")
        raise OSError("disk full")

    monkeypatch.setattr("alstrial.instruments.alsfrs_csv.write_scored_csv", boom)
    with pytest.raises(OSError, match="disk full"):
        write_csv_atomic(pd.DataFrame({"a": [1]}), target)
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_read_errors(tmp_path: Path) -> None:
    with pytest.raises(AlsfrsCsvError, match="not found"):
        read_alsfrs_csv(tmp_path / "missing.csv")
    short = tmp_path / "short.csv"
    short.write_text(f"id,{ITEMS}\nA,4,4\n")
    df = read_alsfrs_csv(short)  # short rows are allowed: the missing cells are blank
    assert score_frame(df).problems[0].where == "row 1, column q3"


def test_example_is_shipped_and_valid() -> None:
    df = pd.read_csv(io.StringIO(example_csv_text()), dtype=str, keep_default_na=False)
    result = score_frame(df)
    assert result.ok and len(df) >= 5
    assert set(result.frame["kings_stage"].astype(str)) >= {"1", "2", "4A", "4B"}

"""XPT v5: every limit is checked before writing, the error names dataset, variable and row, and files
written by others (PHUSE Test Data Factory) read back."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from alstrial.interop.xpt import XptLimitExceeded, ascii_text, check_xpt_v5, read_xpt, write_xpt

PHUSE = Path(__file__).resolve().parents[1] / "data" / "sdtm_phuse"


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"USUBJID": ["S01-0001", "S01-0002"], "AGE": [45.0, 51.0]})


def test_a_valid_dataset_round_trips_through_pandas_own_reader(tmp_path: Path) -> None:
    path = write_xpt(tmp_path / "dm.xpt", "DM", "Demographics", _frame(), {"USUBJID": "Unique Subject Identifier"})
    back = pd.read_sas(path, format="xport", encoding="ascii")  # an independent reader
    assert list(back.columns) == ["USUBJID", "AGE"]
    assert back["USUBJID"].tolist() == ["S01-0001", "S01-0002"]
    assert back["AGE"].tolist() == [45.0, 51.0]
    _, labels, label = read_xpt(path)
    assert labels["USUBJID"] == "Unique Subject Identifier"
    assert label == "Demographics"


@pytest.mark.parametrize(
    ("name", "label", "frame", "labels", "where", "reason"),
    [
        ("DEMOGRAPH", "x", _frame(), {}, "dataset DEMOGRAPH", "1-8 letters"),
        ("DM", "x" * 41, _frame(), {}, "dataset DM label", "at most 40"),
        ("DM", "x", _frame().rename(columns={"AGE": "AGEATSCREEN"}), {}, "variable AGEATSCREEN", "1-8 letters"),
        ("DM", "x", _frame(), {"AGE": "A" * 41}, "variable AGE label", "at most 40"),
        ("DM", "x", pd.DataFrame({"AETERM": ["ok", "y" * 201]}), {}, "variable AETERM, row 2", "201 bytes"),
        ("DM", "x", pd.DataFrame({"AETERM": ["Sjögren"]}), {}, "variable AETERM, row 1", "non-ASCII"),
        ("DM", "x", pd.DataFrame({"SAFFL": [True]}), {}, "variable SAFFL", "booleans have no XPT type"),
    ],
)
def test_each_v5_limit_is_refused_with_where_and_why(
    tmp_path: Path, name: str, label: str, frame: pd.DataFrame, labels: dict[str, str], where: str, reason: str
) -> None:
    with pytest.raises(XptLimitExceeded) as err:
        write_xpt(tmp_path / "out.xpt", name, label, frame, labels)
    assert any(where in p.where and reason in p.reason for p in err.value.problems), err.value
    assert not (tmp_path / "out.xpt").exists()


def test_every_breach_is_listed_not_only_the_first() -> None:
    frame = pd.DataFrame({"LONGNAME9": ["x" * 300, "y" * 250]})
    problems = check_xpt_v5("DM", "x", frame, {"LONGNAME9": "z" * 50})
    assert len(problems) == 4  # name, label, two rows


def test_exactly_200_bytes_and_40_characters_are_allowed() -> None:
    frame = pd.DataFrame({"AETERM": ["y" * 200]})
    assert check_xpt_v5("AE", "L" * 40, frame, {"AETERM": "M" * 40}) == []


def test_typographic_signs_become_ascii() -> None:
    assert ascii_text("≤ 4 hours – Sjögren’s") == "<= 4 hours - Sjogren's"


@pytest.mark.parametrize("name", ["dm", "ds", "ex", "qsgi"])
def test_files_written_by_others_read(name: str) -> None:
    frame, labels, _ = read_xpt(PHUSE / f"{name}.xpt")
    assert list(frame.columns[:3]) == ["STUDYID", "DOMAIN", "USUBJID"]
    assert len(frame) > 100
    assert labels["USUBJID"] == "Unique Subject Identifier"
    assert check_xpt_v5(name.upper(), "x", frame.astype({c: str for c in frame.select_dtypes("object")}), labels) == []

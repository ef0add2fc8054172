"""The pandas-free CSV reader reads a file exactly as ``pandas.read_csv`` does, or declines it."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas._libs.parsers import STR_NA_VALUES

from alstrial.stats.table import Table
from alstrial.stats.table_csv import NA_VALUES, read_csv_table

DATA = Path(__file__).parents[1] / "data"


def assert_same_as_pandas(table: Table, text: str) -> None:
    """Every column: names, dtype family, missing cells, values (bit for bit) and their text."""
    frame = pd.read_csv(io.StringIO(text))
    assert list(table.names) == list(frame.columns)
    assert list(table.index) == list(frame.index)
    for name in table.names:
        series, col = frame[name], table.columns[str(name)]
        np.testing.assert_array_equal(col.missing, series.isna().to_numpy())
        assert list(col.text) == list(series.astype(str)), name
        if col.numeric:
            assert pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)
            assert (col.kind == "int") == pd.api.types.is_integer_dtype(series.dtype), name
            expected = series.to_numpy(dtype=float)
            assert np.array_equal(col.values.view(np.int64), expected.view(np.int64)), name  # bit for bit
        else:
            assert col.kind == "other" and series.dtype == object, (name, series.dtype)
            for got, want in zip(col.values, series.to_numpy(), strict=True):
                assert (pd.isna(got) and pd.isna(want)) or (type(got) is type(want) and got == want), (name, got)


def _read(tmp_path: Path, text: str) -> Table | None:
    path = tmp_path / "d.csv"
    path.write_bytes(text.encode("utf-8"))
    return read_csv_table(path)


def test_missing_markers_are_pandas_defaults() -> None:
    assert set(STR_NA_VALUES) == NA_VALUES


@pytest.mark.parametrize("name", ["fev_data.csv", "lung.csv", "ovarian.csv"])
def test_repository_files_read_as_pandas_reads_them(name: str) -> None:
    """fev_data has 16-17 digit values, on which pandas' parser is not correctly rounded; lung and
    ovarian are R's write.csv output (quoted header, NA)."""
    table = read_csv_table(DATA / name)
    assert table is not None
    assert_same_as_pandas(table, (DATA / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('a,b\n"x,y",1\n', "a quoted comma"),
        ('a,b\n"x""y",1\n', "an escaped quote"),
        ("a,b\n1,2\n\n3,4\n", "a blank line"),
        ("a,b\n1,2,3\n", "a row wider than the header"),
        ("a,b\n1\n", "a row narrower than the header"),
        ("a,a\n1,2\n", "a repeated name (pandas renames it a.1)"),
        ("a,\n1,2\n", "an unnamed column"),
        ("a,b\nTrue,1\n", "a boolean"),
        ("a,b\n 1,2\n", "a padded cell"),
        ("a,b\n1e400,2\n", "a number beyond double range (pandas keeps it as text)"),
        ("a,b\n1_000,2\n", "a number Python reads but pandas does not"),
        ("a,b\n99999999999999999999,2\n", "an integer beyond int64"),
        ("a,b\n", "no rows"),
        ("\ufeffa,b\n1,2\n", "a byte-order mark"),
        ("a,b\r1,2\r", "old Mac line ends"),
    ],
)
def test_unsure_files_are_left_to_pandas(tmp_path: Path, text: str, why: str) -> None:
    assert _read(tmp_path, text) is None, why


def test_windows_line_ends_and_quoted_cells(tmp_path: Path) -> None:
    text = '"id","arm","y"\r\n"s1","PBO",1.5\r\n"s2","NA",""\r\n"s3","MSC","2"\r\n'
    table = _read(tmp_path, text)
    assert table is not None
    assert_same_as_pandas(table, text)
    assert table.columns["y"].kind == "float" and table.columns["arm"].missing.tolist() == [False, True, False]


def test_undecodable_file_is_left_to_pandas(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes("a,b\nCafé,1\n".encode("latin-1"))
    assert read_csv_table(path) is None


_DIGITS = st.text("0123456789", min_size=1, max_size=20)
NUMBER = st.one_of(
    st.integers(-(2**63) + 1, 2**63 - 1).map(str),
    st.builds(lambda a, b: f"{a}.{b}", _DIGITS, _DIGITS),
    st.builds(
        lambda s, a, b, e: f"{s}{a}.{b}e{e}", st.sampled_from(["", "-", "+"]), _DIGITS, _DIGITS, st.integers(-300, 300)
    ),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from([".5", "5.", "-0", "+7", "007", "1E5", "inf", "-Inf", "INFINITY"]),
)
CELL = st.one_of(
    NUMBER,
    st.sampled_from(sorted(STR_NA_VALUES)),
    st.sampled_from(["PBO", "MSC", "Black or African American", "a b", "x1", "-", "1.2.3", "e5", "n/a "]),
    st.sampled_from([" 1", '"q"', '"a,b"', "True", "false", "1e400", "", "NA"]),
)


@st.composite
def csv_file(draw: st.DrawFn) -> str:
    n_cols = draw(st.integers(1, 4))
    kinds = [draw(st.sampled_from(["number", "cell"])) for _ in range(n_cols)]
    rows = []
    for _ in range(draw(st.integers(1, 6))):
        rows.append(",".join(draw(NUMBER if k == "number" else CELL) for k in kinds))
    return ",".join(f"c{i}" for i in range(n_cols)) + "\n" + "\n".join(rows) + "\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=csv_file())
def test_random_files_read_as_pandas_reads_them_or_are_declined(tmp_path: Path, text: str) -> None:
    table = _read(tmp_path, text)
    if table is not None:
        assert_same_as_pandas(table, text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(NUMBER, min_size=1, max_size=30))
def test_numbers_parse_to_pandas_bits(tmp_path: Path, values: list[str]) -> None:
    """Every number pandas' parser reads as a double, read to the same bits (or the file declined)."""
    text = "x\n" + "\n".join(values) + "\n"
    table = _read(tmp_path, text)
    if table is not None:
        assert_same_as_pandas(table, text)

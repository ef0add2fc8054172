"""render_table lays a table out exactly as pandas' ``DataFrame.to_string(float_format=...)``."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from alstrial.stats.text_table import render_table

FORMATS = {".5g": lambda v: f"{v:.5g}", ".4f": lambda v: f"{v:.4f}", ".6g": lambda v: f"{v:.6g}"}
FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-1e3, 1e3),
    st.sampled_from([0.0, -0.0, 1e-9, 123456.0, 0.5, 1.0]),
)
LABELS = st.one_of(
    st.lists(st.text(st.sampled_from("ab :DE1-\t"), min_size=0, max_size=60), min_size=1, max_size=5, unique=True),
    st.lists(st.integers(-(10**6), 10**6), min_size=1, max_size=5, unique=True),
    st.lists(st.floats(-1e8, 1e8) | st.sampled_from([0.5, 1.25, 2.0, 1e-7]), min_size=1, max_size=5, unique=True),
    st.lists(st.booleans(), min_size=1, max_size=2, unique=True),
)


@st.composite
def table(draw: st.DrawFn) -> tuple[list[object], list[tuple[str, np.ndarray]]]:
    labels = draw(LABELS)
    n = len(labels)
    names = draw(st.lists(st.text("abc_x", min_size=1, max_size=12), min_size=1, max_size=4, unique=True))
    columns = []
    for name in names:
        if draw(st.booleans()):
            values = np.array(draw(st.lists(st.integers(-(10**9), 10**9), min_size=n, max_size=n)), dtype=np.int64)
        else:
            values = np.array(draw(st.lists(FLOATS, min_size=n, max_size=n)), dtype=float)
        columns.append((name, values))
    return labels, columns


@settings(max_examples=400, deadline=None)
@given(t=table(), fmt=st.sampled_from(sorted(FORMATS)), index_name=st.sampled_from([None, "term", "arm"]))
def test_same_text_as_pandas(t: tuple[list[object], list[tuple[str, np.ndarray]]], fmt: str, index_name: str) -> None:
    labels, columns = t
    frame = pd.DataFrame(dict(columns), index=pd.Index(labels, name=index_name))
    assert render_table(labels, columns, FORMATS[fmt], index_name) == frame.to_string(float_format=FORMATS[fmt])


def test_mmrm_style_table_by_hand() -> None:
    """Numeric headers get a leading space; the index name has a row of its own."""
    text = render_table(
        ["(Intercept)", "ARMCDTRT"], [("estimate", np.array([31.1, -0.5]))], lambda v: f"{v:.5g}", "term"
    )
    assert text.splitlines() == [
        "             estimate",
        "term                 ",
        "(Intercept)      31.1",
        "ARMCDTRT         -0.5",
    ]

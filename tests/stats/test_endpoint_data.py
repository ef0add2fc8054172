"""Input checks shared by the endpoint engines name the row as the user knows it: a plain label such as
``row 2``, not numpy's ``np.int64(2)``, whatever the frame's index type."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alstrial.stats.endpoint_data import EndpointDataError, numeric_column, two_arm_levels


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["1", "x", "3"], "e: column 'v' must be numeric, found 'x' in row 1"),
        ([1.0, np.nan, 3.0], "e: column 'v' has a missing value in row 1"),
        ([1.0, 2.0, np.inf], "e: column 'v' must hold finite numbers, found inf in row 2"),
    ],
)
def test_numeric_column_names_the_row_as_a_plain_label(values, message) -> None:
    with pytest.raises(EndpointDataError) as err:
        numeric_column(pd.DataFrame({"v": values}), "v", what="e")
    assert str(err.value) == message


def test_a_missing_arm_names_the_row_as_a_plain_label() -> None:
    arm = pd.Series(["PBO", None, "TRT"], name="arm", index=np.array([10, 11, 12], dtype=np.int64))
    with pytest.raises(EndpointDataError) as err:
        two_arm_levels(arm, what="e")
    assert str(err.value) == "e: arm column 'arm' has a missing value in row 11"

"""MMRM against nlme::gls fits stored by validation/mmrm/compare_with_nlme.py.

Raw R outputs: validation/mmrm/outputs/nlme_<dataset>.csv (R 4.2.2, nlme 3.1-162, REML,
corSymm+varIdent / corAR1 / corCompSymm); data: validation/mmrm/outputs/data_<dataset>.csv.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alstrial.stats.mmrm import fit_mmrm

OUT = Path(__file__).parents[2] / "validation" / "mmrm" / "outputs"


@pytest.mark.parametrize("dataset", ["small4", "mid6", pytest.param("large8", marks=pytest.mark.slow)])
@pytest.mark.parametrize("cov", ["us", "ar1", "cs"])
def test_matches_stored_nlme_fit(dataset: str, cov: str) -> None:
    data = pd.read_csv(OUT / f"data_{dataset}.csv")
    ref = pd.read_csv(OUT / f"nlme_{dataset}.csv")
    ref = ref[ref["cov"] == cov]
    fit = fit_mmrm(data, response="Y", subject="SUBJ", visit="VISIT", fixed="ARM*VISIT + BASE", cov=cov)  # type: ignore[arg-type]
    m2ll = float(ref.loc[ref["kind"] == "m2loglik", "estimate"].iloc[0])
    assert fit.minus2_log_likelihood == pytest.approx(m2ll, abs=1e-5)
    coefs = ref[ref["kind"] == "coef"].set_index("name")
    assert list(fit.summary.index) == list(coefs.index)  # same R-style term names and order
    np.testing.assert_allclose(fit.summary["estimate"], coefs["estimate"], atol=5e-4)
    np.testing.assert_allclose(fit.summary["std_error"], coefs["std_error"], atol=5e-4)
    sigma = ref.loc[ref["kind"] == "sigma", "estimate"].to_numpy()
    m = int(np.sqrt(len(sigma)))
    np.testing.assert_allclose(fit.covariance.to_numpy(), sigma.reshape(m, m), rtol=1e-3, atol=1e-3)

"""ADaM export: readable XPT v5 files whose content is the analysis datasets, only after unblinding."""

from __future__ import annotations

from pathlib import Path

import pytest
from exported_trial import ExportedTrial, exported_fixture, pg_trial_fixture, sqlite_trial_fixture  # noqa: F401

from alstrial.analysis.from_store import TrialStillBlinded, datasets_from_store
from alstrial.interop.adam import export_adam
from alstrial.interop.xpt import read_xpt
from alstrial.protocol import load_protocol
from alstrial.services.context import CaptureDB
from conftest import Trial, no_trace


def test_adam_files_hold_the_analysis_datasets(exported: ExportedTrial) -> None:
    db = CaptureDB.from_url(exported.url)
    try:
        with db.sessions() as session:
            ds = datasets_from_store(session, load_protocol())
    finally:
        db.dispose()
    adsl, labels, label = read_xpt(exported.adam / "adsl.xpt")
    assert label == "Subject-Level Analysis Dataset" and labels["FASFL"] == "Full Analysis Set Population Flag"
    assert list(adsl.columns[:2]) == ["STUDYID", "USUBJID"]
    assert adsl["USUBJID"].tolist() == ds.adsl["USUBJID"].tolist()
    assert (adsl["FASFL"] == ds.adsl["FASFL"].map({True: "Y", False: "N"})).all()
    assert set(adsl.loc[adsl["RANDFL"] == "Y", "TRT01P"]) <= {"Autologous MSC", "Placebo"}
    adqs, _, _ = read_xpt(exported.adam / "adqs.xpt")
    assert len(adqs) == len(ds.adqs) and set(adqs["PARAMCD"]) == {"ALSFRSR"}
    assert adqs["CHG"].fillna(-999).tolist() == ds.adqs["CHG"].fillna(-999).tolist()
    adtte, _, _ = read_xpt(exported.adam / "adtte.xpt")
    assert set(adtte["CNSR"]) <= {0.0, 1.0} and len(adtte) == len(ds.adtte)
    for name in ("adlb", "adae", "adqsri"):
        assert (exported.adam / f"{name}.xpt").exists()


def test_adam_is_refused_before_unblinding(trial: Trial, tmp_path: Path) -> None:
    """The conftest trial (SQLite and PostgreSQL) is neither locked nor unblinded."""
    with no_trace(trial.db), pytest.raises(TrialStillBlinded, match="unblind"):
        export_adam(trial.db, trial.actors["unblinded_statistician"], tmp_path / "adam")
    assert not (tmp_path / "adam").exists()

"""Running a study: power.json as specified, resumption after an interruption, chunk sizes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from power_fixtures import CHEAP, protocol, replicate_rows, small

from alstrial.design.power.run import PowerStudy, binomial_summary, run_power
from alstrial.design.power.scenarios import PowerError


class Stop(Exception):
    pass


def _study(chunk: int) -> PowerStudy:
    return PowerStudy(protocol, small, reps=4, seed=11, analyses=CHEAP, chunk_size=chunk)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted in-process run."""
    out = tmp_path_factory.mktemp("uninterrupted")
    result = run_power(_study(chunk=2), out, executor="inprocess")
    assert result.computed == 8
    return out


def test_power_json_has_exactly_the_specified_fields(reference: Path) -> None:
    records = json.loads((reference / "power.json").read_text())
    assert len(records) == len(small) * len(CHEAP)
    for r in records:
        assert set(r) == {"scenario", "analysis", "reps", "rejections", "power", "mcse"}
        assert r["reps"] == 4 and r["power"] == r["rejections"] / 4
        assert r["mcse"] == pytest.approx((r["power"] * (1 - r["power"]) / 4) ** 0.5)
    assert records[0]["scenario"] == {"effect": 0.0, "participants": 30, "followup": 20}
    assert [r["analysis"] for r in records[:2]] == list(CHEAP)
    rows = replicate_rows(reference)
    assert len(rows) == 2 * 4 * len(CHEAP)
    # the counts in power.json are the per-replicate rows' counts
    counts = rows.groupby(["scenario", "analysis"], sort=False)["rejected"].sum()
    assert [r["rejections"] for r in records] == [int(counts[(i // 2, a)]) for i, a in enumerate(CHEAP * 2)]


def test_an_interrupted_run_resumes_to_the_uninterrupted_result(reference: Path, tmp_path: Path) -> None:
    def stop_after_first(n: int) -> None:
        if n == 1:
            raise Stop

    with pytest.raises(Stop):
        run_power(_study(chunk=2), tmp_path, executor="inprocess", on_chunk=stop_after_first)
    assert not (tmp_path / "power.json").exists()
    assert len(list((tmp_path / "chunks").glob("*.parquet"))) == 1
    # resumed with another chunk size: only the 6 missing replicates are simulated
    resumed = run_power(_study(chunk=3), tmp_path, executor="inprocess")
    assert resumed.computed == 6
    assert (tmp_path / "power.json").read_text() == (reference / "power.json").read_text()
    pd.testing.assert_frame_equal(replicate_rows(tmp_path), replicate_rows(reference))
    # a second rerun computes nothing
    assert run_power(_study(chunk=3), tmp_path, executor="inprocess").computed == 0


def test_more_replicates_extend_a_study_and_a_new_scenario_leaves_the_others_unchanged(
    reference: Path, tmp_path: Path
) -> None:
    first = run_power(PowerStudy(protocol, small[1:], reps=2, seed=11, analyses=CHEAP), tmp_path, executor="inprocess")
    assert first.computed == 2
    both = run_power(_study(chunk=2), tmp_path, executor="inprocess")
    assert both.computed == 8 - 2
    assert (tmp_path / "power.json").read_text() == (reference / "power.json").read_text()


def test_incomplete_chunk_files_are_an_error_not_a_wrong_count(reference: Path, tmp_path: Path) -> None:
    import shutil

    shutil.copytree(reference / "chunks", tmp_path / "chunks")
    victim = sorted((tmp_path / "chunks").glob("*.parquet"))[0]
    frame = pd.read_parquet(victim)
    frame[frame["replicate"] != frame["replicate"].min()].to_parquet(victim)
    with pytest.raises(PowerError, match="expected 4"):
        run_power(_study(chunk=2), tmp_path, executor="inprocess")


def test_binomial_summary() -> None:
    s = binomial_summary(10, 200)
    assert s["power"] == 0.05 and s["mcse"] == pytest.approx((0.05 * 0.95 / 200) ** 0.5)
    assert s["ci_lower"] < 0.05 < s["ci_upper"]
    assert binomial_summary(0, 10)["ci_lower"] == 0.0 and binomial_summary(10, 10)["ci_upper"] == 1.0


def test_bad_study_settings_are_refused() -> None:
    with pytest.raises(PowerError, match="reps"):
        PowerStudy(protocol, small, reps=0)
    with pytest.raises(PowerError, match="chunk"):
        PowerStudy(protocol, small, reps=1, chunk_size=0)


def test_an_analysis_without_its_endpoint_is_refused_before_anything_runs() -> None:
    bare = protocol.model_copy(update={"endpoints": [e for e in protocol.endpoints if e.method != "cafs"]})
    with pytest.raises(PowerError, match="analysis cafs needs an endpoint"):
        PowerStudy(bare, small, reps=1, analyses=("mmrm", "cafs"))

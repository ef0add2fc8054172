"""The seed trial end to end on SQLite: files written, audit intact, deterministic per seed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alstrial.cli import app
from alstrial.workflows.demo import run_demo

N = 16  # a small trial keeps the test fast; the full-size demo is timed in benchmarks/bench_demo.py


@pytest.fixture(scope="module")
def twin_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    a = run_demo(tmp_path_factory.mktemp("a"), seed=2026, n_randomized=N)
    b = run_demo(tmp_path_factory.mktemp("b"), seed=2026, n_randomized=N)
    c = run_demo(tmp_path_factory.mktemp("c"), seed=8, n_randomized=N)
    return a.out_dir, b.out_dir, c.out_dir


def test_demo_writes_the_three_files_with_the_promised_keys(twin_runs: tuple[Path, Path, Path]) -> None:
    out = twin_runs[0]
    for name in ("trial.db", "results.json", "report.html"):
        assert (out / name).stat().st_size > 0
    results = json.loads((out / "results.json").read_text())
    consort = results["consort"]
    assert {"screened", "screen_failed", "randomized", "arms"} <= set(consort)
    assert consort["randomized"] == N
    assert consort["screened"] == consort["screen_failed"] + consort["randomized"] + consort["eligible_not_randomized"]
    for arm in ("MSC", "PBO"):
        a = consort["arms"][arm]
        assert {"randomized", "treated", "completed", "discontinued", "discontinuation_reasons"} <= set(a)
        assert a["completed"] + a["discontinued"] == a["randomized"]
        assert {"n", "age_mean", "female_pct", "alsfrs_r_mean", "alsfrs_r_sd"} <= set(results["baseline"][arm])
    assert {"total", "by_sex", "by_age_decade"} <= set(results["dropouts"])
    assert results["audit"]["verified"] is True
    html = (out / "report.html").read_text()
    assert "Participant flow" in html and "<svg" in html


def test_same_seed_gives_byte_identical_results_and_other_seeds_differ(twin_runs: tuple[Path, Path, Path]) -> None:
    a, b, c = (p / "results.json" for p in twin_runs)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_audit_verify_passes_on_the_demo_database(twin_runs: tuple[Path, Path, Path]) -> None:
    result = CliRunner().invoke(app, ["audit", "verify", "--db", str(twin_runs[0] / "trial.db")])
    assert result.exit_code == 0, result.output
    assert "intact" in result.output

"""The sample-size search: bisection on a power curve, with sizes reused across analyses."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from power_fixtures import protocol

from alstrial.design.power.run import PowerStudy
from alstrial.design.power.sample_size import find_sample_sizes
from alstrial.design.power.scenarios import PowerError


class FakeRun:
    """Stands in for run_power: a known monotone power curve per analysis, counting evaluations."""

    def __init__(self, midpoints: dict[str, float]) -> None:
        self.midpoints = midpoints
        self.calls: list[int] = []

    def __call__(self, study: PowerStudy, out_dir: Path, *, publish: bool, **_: Any) -> Any:
        assert publish is False
        (scenario,) = study.scenarios
        n = scenario.participants
        self.calls.append(n)
        rows = [
            {"analysis": a, "power": 1 / (1 + math.exp(-(n - self.midpoints[a]) / 20)), "mcse": 0.01}
            for a in study.analyses
        ]

        class Result:
            summary = pd.DataFrame(rows)

        return Result()

    def crossing(self, analysis: str, target: float) -> float:
        return self.midpoints[analysis] + 20 * math.log(target / (1 - target))


def test_bisection_finds_the_smallest_block_multiple_reaching_the_target(tmp_path: Path) -> None:
    fake = FakeRun({"mmrm": 150.0, "responder": 420.0})
    found = find_sample_sizes(
        protocol, {}, target=0.8, reps=10, seed=1, analyses=("mmrm", "responder"), out_dir=tmp_path, run=fake
    )
    for r in found:
        exact = fake.crossing(r.analysis, 0.8)
        assert r.n is not None and r.n % 2 == 0
        assert exact <= r.n < exact + 2  # the next multiple of the allocation block (2 for 1:1)
        assert r.power >= 0.8
    # sizes evaluated once each, shared by both analyses
    assert len(fake.calls) == len(set(fake.calls))


def test_ratio_two_to_one_searches_in_blocks_of_three(tmp_path: Path) -> None:
    fake = FakeRun({"mmrm": 100.0})
    (r,) = find_sample_sizes(
        protocol, {"ratio": "2:1"}, target=0.9, reps=10, seed=1, analyses=("mmrm",), out_dir=tmp_path, run=fake
    )
    assert r.n is not None and r.n % 3 == 0 and fake.crossing("mmrm", 0.9) <= r.n < fake.crossing("mmrm", 0.9) + 3


def test_an_unreachable_target_says_so(tmp_path: Path) -> None:
    fake = FakeRun({"cafs": 10_000.0})
    (r,) = find_sample_sizes(
        protocol, {}, target=0.8, reps=10, seed=1, analyses=("cafs",), out_dir=tmp_path, run=fake, max_n=1000
    )
    assert r.n is None and r.power < 0.8
    assert "not reached" in str(r)


def test_bad_targets_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PowerError, match="between 0 and 1"):
        find_sample_sizes(protocol, {}, target=1.0, reps=1, seed=1, analyses=("cafs",), out_dir=tmp_path)
    with pytest.raises(PowerError, match="participants"):
        find_sample_sizes(
            protocol, {"participants": 50}, target=0.8, reps=1, seed=1, analyses=("cafs",), out_dir=tmp_path
        )


def test_a_real_search_on_simulated_trials(tmp_path: Path) -> None:
    """Tiny but real: a huge effect reaches 0.6 power with few participants, and the result is resumable."""
    values = {"effect": 2.0, "followup": 20}
    kwargs: dict[str, Any] = {"target": 0.6, "reps": 4, "seed": 3, "analyses": ("cafs",), "executor": "inprocess"}
    (r,) = find_sample_sizes(protocol, values, out_dir=tmp_path, start=16, **kwargs)
    assert r.n is not None and r.n <= 64 and r.power >= 0.6
    # the bracket closed: the largest size tried below N fell short of the target, one block below N
    below = max((n, p) for n, p, _ in r.evaluations if n < r.n)
    assert below[1] < 0.6 and below[0] == r.n - 2
    tried = {n for n, _, _ in r.evaluations}
    assert len(list((tmp_path / "chunks").glob("*.parquet"))) >= len(tried)
    (again,) = find_sample_sizes(protocol, values, out_dir=tmp_path, start=16, **kwargs)
    assert again == r

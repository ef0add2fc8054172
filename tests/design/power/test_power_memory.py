"""A power worker keeps freed memory instead of page-faulting it back in at every replicate."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from alstrial.design.power.memory import keep_freed_memory

FAULTS_PER_TRIAL = textwrap.dedent(
    """
    import resource, sys
    from alstrial.protocol import load_protocol
    from alstrial.simulate.batch import simulate_cohorts
    if sys.argv[1] == "keep":
        from alstrial.design.power.memory import keep_freed_memory
        assert keep_freed_memory()
    params = load_protocol().simulation
    simulate_cohorts(params, 189, [1, 2])  # warm-up: the heap reaches its working size
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for chunk in range(4):
        simulate_cohorts(params, 189, list(range(10 + 10 * chunk, 20 + 10 * chunk)))
    print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 40)
    """
)


def _faults_per_trial(mode: str) -> float:
    out = subprocess.run([sys.executable, "-c", FAULTS_PER_TRIAL, mode], capture_output=True, text=True, check=True)
    return float(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc thresholds exist only on Linux")
def test_simulated_trials_stop_page_faulting_once_freed_memory_is_kept() -> None:
    # measured when written: about 800-1,350 minor faults per seed trial by default, about 70 kept
    plain, kept = _faults_per_trial("plain"), _faults_per_trial("keep")
    assert kept < plain / 4, (plain, kept)


def test_setting_is_idempotent_and_reports_whether_it_took() -> None:
    first = keep_freed_memory()
    assert keep_freed_memory() is first
    assert first is sys.platform.startswith("linux")

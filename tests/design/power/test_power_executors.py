"""The same seed gives the same numbers in-process, in local processes and on Dask."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from power_fixtures import CHEAP, protocol, replicate_rows, small

from alstrial.design.power.executors import run_tasks
from alstrial.design.power.run import PowerStudy, run_power
from alstrial.design.power.scenarios import PowerError


def _study() -> PowerStudy:
    # chunks of one replicate: with two workers they finish out of order
    return PowerStudy(protocol, small, reps=3, seed=5, analyses=CHEAP, chunk_size=1)


@pytest.fixture(scope="module")
def inprocess(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("inprocess")
    run_power(_study(), out, executor="inprocess")
    return out


def _same(out: Path, reference: Path) -> None:
    assert (out / "power.json").read_text() == (reference / "power.json").read_text()
    pd.testing.assert_frame_equal(replicate_rows(out), replicate_rows(reference))


def test_local_processes_give_the_in_process_numbers(inprocess: Path, tmp_path: Path) -> None:
    run_power(_study(), tmp_path, executor="processes", workers=2)
    _same(tmp_path, inprocess)


def test_dask_local_cluster_gives_the_in_process_numbers(inprocess: Path, tmp_path: Path) -> None:
    run_power(_study(), tmp_path, executor="dask", workers=2)
    _same(tmp_path, inprocess)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_dask_scheduler_and_two_workers_started_as_a_user_would(inprocess: Path, tmp_path: Path) -> None:
    """`dask scheduler` and two `dask worker` processes, then `--scheduler tcp://...`."""
    dask = str(Path(sys.executable).parent / "dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [
        subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet)
    ]
    try:
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [dask, "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard"], **quiet
                )
            )
        from distributed import Client

        deadline = time.monotonic() + 120
        while True:
            try:
                with Client(address, timeout="5s") as client:
                    client.wait_for_workers(2, timeout=120)
                    workers = client.scheduler_info()["workers"]
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        assert len(workers) == 2
        result = run_power(_study(), tmp_path, executor="dask", scheduler=address)
        assert result.computed == 6
        _same(tmp_path, inprocess)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def test_executor_errors_name_the_allowed_values() -> None:
    with pytest.raises(PowerError, match="inprocess, processes, dask"):
        list(run_tasks(len, [((1,),)], executor="threads"))
    with pytest.raises(PowerError, match="needs --executor dask"):
        list(run_tasks(len, [((1,),)], executor="processes", scheduler="tcp://127.0.0.1:1"))
    with pytest.raises(PowerError, match="workers"):
        list(run_tasks(len, [((1,),)], executor="inprocess", workers=0))


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PowerError, match="cannot reach the Dask scheduler"):
        run_power(_study(), tmp_path, executor="dask", scheduler=f"tcp://127.0.0.1:{_free_port()}")


#: the array path: MMRM by fit_primary_many, unadjusted responder and CAFS from simulate_cohorts' arrays
ARRAY_PATH = ("mmrm", "responder_unadjusted", "cafs")


def test_array_path_gives_the_same_numbers_on_dask_as_in_process_whatever_the_chunks(tmp_path: Path) -> None:
    """In-process in chunks of 3 against a two-worker Dask cluster in chunks of 1 (finishing out of order)."""
    local, remote = tmp_path / "local", tmp_path / "dask"
    run_power(
        PowerStudy(protocol, small, reps=3, seed=8, analyses=ARRAY_PATH, chunk_size=3), local, executor="inprocess"
    )
    run_power(
        PowerStudy(protocol, small, reps=3, seed=8, analyses=ARRAY_PATH, chunk_size=1),
        remote,
        executor="dask",
        workers=2,
    )
    _same(remote, local)
    rows = replicate_rows(local)
    assert len(rows) == 2 * 3 * 3 and (rows["error"] == "").all()

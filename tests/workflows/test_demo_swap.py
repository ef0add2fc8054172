"""A demo killed midway leaves the previous demo whole: never its report beside a half-built database.

The demo is built in ``out_dir/.demo-building`` and moved into place when complete
(``swap_into``): the old report is removed first and the new one moved in last.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from alstrial.store import make_engine
from alstrial.workflows import demo
from alstrial.workflows.demo import DEMO_FILES, REPORT, STAGING, swap_into

_FILES = ("trial.db", "results.json", "run.json", REPORT)


def _fake_demo(folder: Path, tag: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in _FILES:
        (folder / name).write_text(tag, encoding="utf-8")
    (folder / "tables").mkdir()
    (folder / "tables" / "a.csv").write_text(tag, encoding="utf-8")


def _tags(folder: Path) -> dict[str, str]:
    found = {name: (folder / name).read_text(encoding="utf-8") for name in _FILES if (folder / name).exists()}
    if (folder / "tables" / "a.csv").exists():
        found["tables"] = (folder / "tables" / "a.csv").read_text(encoding="utf-8")
    return found


class _Interrupted(BaseException):
    """Stands for SIGKILL: nothing after it runs."""


def test_a_swap_interrupted_at_any_step_never_leaves_a_report_beside_other_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = 0
    while True:  # interrupt before the 1st, 2nd, ... file operation until the swap completes
        case = tmp_path / f"case{steps}"
        _fake_demo(case, "old")
        _fake_demo(case / STAGING, "new")
        budget = [steps]

        def counted(fn: object, budget: list[int] = budget) -> object:
            def wrapper(*args: object, **kwargs: object) -> object:
                if budget[0] == 0:
                    raise _Interrupted
                budget[0] -= 1
                return fn(*args, **kwargs)  # type: ignore[operator]

            return wrapper

        with monkeypatch.context() as m:
            m.setattr(demo.os, "replace", counted(os.replace))
            m.setattr(demo.shutil, "rmtree", counted(shutil.rmtree))
            m.setattr(Path, "unlink", counted(Path.unlink))
            try:
                swap_into(case / STAGING, case)
                done = True
            except _Interrupted:
                done = False
        tags = _tags(case)
        if REPORT in tags:  # a report in the folder describes what is beside it
            assert set(tags.values()) == {tags[REPORT]}, tags  # all old or all new
            assert set(tags) == {*_FILES, "tables"}, tags  # and complete
        if done:
            assert tags == {**dict.fromkeys(_FILES, "new"), "tables": "new"}
            assert not (case / STAGING).exists()
            break
        steps += 1
    assert steps >= len(DEMO_FILES)  # every step was interrupted once


def _audit_head(db: Path) -> str:
    engine = make_engine(str(db), must_exist=True)
    try:
        with engine.connect() as conn:
            return str(conn.exec_driver_sql("SELECT hash FROM audit_head").scalar_one())
    finally:
        engine.dispose()


@pytest.mark.slow
def test_a_demo_killed_midway_leaves_the_previous_demo_whole(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    exe = str(Path(sys.executable).with_name("alstrial"))
    first = subprocess.run([exe, "demo", "--out", str(out), "--n", "4", "--seed", "1"], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    before = {name: (out / name).read_bytes() for name in ("results.json", "run.json", REPORT)}
    proc = subprocess.Popen(
        [exe, "demo", "--out", str(out), "--n", "4", "--seed", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    old_db = (out / "trial.db").stat().st_ino

    def building() -> bool:  # a new database exists, wherever the demo builds it
        in_place = (out / "trial.db").exists() and (out / "trial.db").stat().st_ino != old_db
        return in_place or (out / STAGING / "trial.db").exists() or not (out / "trial.db").exists()

    while not building():
        assert proc.poll() is None and time.monotonic() < deadline, "the second demo never started its database"
        time.sleep(0.05)
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert {name: (out / name).read_bytes() for name in before} == before  # the previous demo, untouched
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["seed"] == 1 and run["audit_head_hash"] == _audit_head(out / "trial.db")

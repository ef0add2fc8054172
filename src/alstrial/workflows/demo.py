"""The seed trial end to end: set up, simulate through the virtual sites, lock, unblind, analyse, report.

``run_demo`` writes ``trial.db`` (SQLite), ``results.json`` (with ``tables/*.csv``), ``run.json``
and ``report.html`` into one folder, through the same ``workflows.analyze`` and ``workflows.report``
code as ``alstrial analyze`` and ``alstrial report``. ``results.json`` is byte-identical for the same
seed and protocol: it holds no timestamps and its numbers are rounded to a fixed number of
significant digits; the analysis time and the audit head hash (which covers the audit records'
wall-clock times) are written to ``run.json`` instead.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alstrial import __version__
from alstrial.analysis.plan import EndpointOutcome, clean_json
from alstrial.analysis.slope_rule import slope_rule
from alstrial.protocol import load_protocol
from alstrial.protocol.models import Protocol
from alstrial.services.context import CaptureDB
from alstrial.services.setup import setup_trial
from alstrial.simulate.virtual_sites import ADMIN, VirtualSites, VirtualTrialLog
from alstrial.store.engine import make_durable
from alstrial.store.migrate import init_db
from alstrial.workflows.analyze import analyse_database, write_analysis
from alstrial.workflows.report import report_database

Step = Callable[[str], None]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class DemoRun:
    """Where the demo wrote its files, and what it found."""

    out_dir: Path
    database: Path
    results_path: Path
    report_path: Path
    results: dict[str, Any]
    outcomes: tuple[EndpointOutcome, ...]
    log: VirtualTrialLog
    #: the admin account's password, new every run; the virtual staff cannot sign in at all
    admin_username: str = ADMIN
    admin_password: str = ""


def run_demo(
    out_dir: Path,
    *,
    seed: int = 2026,
    protocol_path: Path | None = None,
    n_randomized: int | None = None,
    step: Step | None = None,
    progress: Progress | None = None,
) -> DemoRun:
    """Run the whole trial on a fresh SQLite file in ``out_dir`` (an existing demo there is replaced)."""
    say = step or (lambda _msg: None)
    # the protocol first: a bad protocol file must not cost the previous demo in out_dir
    protocol: Protocol = load_protocol(protocol_path)
    text = Path(protocol_path).read_text(encoding="utf-8") if protocol_path else None
    # everything is built in a staging folder and moved into out_dir only once complete, so a run
    # killed midway leaves the previous demo whole (never its report beside a half-built database)
    staging = out_dir / STAGING
    if staging.exists():
        shutil.rmtree(staging)  # left by a run that was killed
    staging.mkdir(parents=True)
    db_path = staging / "trial.db"

    # the one account that can sign in to a demo database: its password is new every run and shown once
    admin_password = secrets.token_urlsafe(12)
    say("setting up the trial database")
    # built in one go and discarded if the run stops: its commits need no flush to disk each (about
    # 13,000 of them), only the finished file does (make_durable below, before it replaces the last demo)
    db = CaptureDB(init_db(str(db_path), scratch=True))
    from alstrial.protocol import default_protocol_path

    setup_trial(
        db,
        text or default_protocol_path().read_text(encoding="utf-8"),
        seed=seed,
        admin_username=ADMIN,
        admin_password=admin_password,
    )
    sites = VirtualSites(db, protocol, seed=seed)
    sites.create_users()

    say("screening, randomizing and following participants at the virtual sites")
    log = sites.run(n_randomized=n_randomized, progress=progress)

    say("locking and unblinding the database")
    sites.close(admin_password)

    say("running the analysis plan on the locked database")
    when = datetime.now(UTC)
    effect = protocol.simulation.treatment.describe()
    extra = {
        "simulated": True,
        "seed": seed,
        "source": f"simulated trial, seed {seed}; {effect}",
        "simulated_effect": effect,
        "slope_rule": str(slope_rule(protocol)),
    }
    analysis = analyse_database(db, None, seed=seed, trial_extra=extra, provenance=False)
    results = dict(analysis.results)
    results["virtual_sites"] = clean_json(asdict(log))
    # results.json stays byte-identical for a seed: the analysis time and the audit head hash (which
    # covers the wall-clock times of the audit records) go to run.json instead
    write_analysis(results, staging)
    run_info = {
        "analysis_time": when.isoformat(),
        "audit_head_hash": analysis.state.audit.head_hash,
        "alstrial": __version__,
        "seed": seed,
    }
    (staging / "run.json").write_text(json.dumps(run_info, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    say("writing the report")
    report = report_database(
        db, None, audience="sponsor", seed=seed, database_label="trial.db", analysis=analysis,
        trial_extra=extra, when=when,
    )  # fmt: skip
    (staging / REPORT).write_text(report.html, encoding="utf-8")
    outcomes = analysis.outcomes
    make_durable(db.engine)
    db.dispose()
    swap_into(staging, out_dir)
    return DemoRun(
        out_dir,
        out_dir / "trial.db",
        out_dir / "results.json",
        out_dir / REPORT,
        results,
        outcomes,
        log,
        ADMIN,
        admin_password,
    )


STAGING = ".demo-building"
REPORT = "report.html"
#: what a demo writes, in the order it is moved into place: the report last, so that a report in
#: the folder always describes the database beside it
DEMO_FILES = ("trial.db", "trial.db-wal", "trial.db-shm", "tables", "results.json", "run.json", REPORT)


def swap_into(staging: Path, out_dir: Path) -> None:
    """Replace the demo in ``out_dir`` by the complete one in ``staging``.

    The old report goes first and the new one comes last: interrupted anywhere, the folder holds
    either no report or a report together with the database, results and tables it describes.
    """
    for name in (REPORT, *DEMO_FILES[:-1]):
        old = out_dir / name
        if old.is_dir():
            shutil.rmtree(old)
        else:
            old.unlink(missing_ok=True)
    for name in DEMO_FILES:
        new = staging / name
        if new.exists():
            os.replace(new, out_dir / name)
    shutil.rmtree(staging)

"""The seed trial end to end: set up, simulate through the virtual sites, lock, unblind, analyse, report.

``run_demo`` writes ``trial.db`` (SQLite), ``results.json`` and ``report.html`` into one folder.
``results.json`` is byte-identical for the same seed and protocol: it holds no timestamps and
its numbers are rounded to a fixed number of significant digits.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from alstrial import __version__
from alstrial.analysis import summaries
from alstrial.analysis.from_store import datasets_from_store
from alstrial.analysis.plan import AnalysisPlan, EndpointOutcome, clean_json
from alstrial.protocol import load_protocol
from alstrial.protocol.models import Protocol
from alstrial.report.build import build_report
from alstrial.services.context import CaptureDB
from alstrial.services.setup import setup_trial
from alstrial.simulate.virtual_sites import ADMIN, VirtualSites, VirtualTrialLog
from alstrial.store.audit_chain import verify_chain
from alstrial.store.migrate import init_db

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
    out_dir.mkdir(parents=True, exist_ok=True)
    db_path = out_dir / "trial.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)

    # the one account that can sign in to a demo database: its password is new every run and shown once
    admin_password = secrets.token_urlsafe(12)
    say("setting up the trial database")
    db = CaptureDB(init_db(str(db_path)))
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

    say("deriving the analysis datasets from the locked database")
    with db.sessions() as session:
        datasets = datasets_from_store(session, protocol)
        chain = verify_chain(session)

    say("running the analysis plan")
    outcomes = tuple(AnalysisPlan(protocol, seed=seed).run(datasets))

    arms = [a.code for a in protocol.arms]
    results: dict[str, Any] = {
        "trial": {"id": protocol.id, "title": protocol.title, "seed": seed, "simulated": True, "alstrial": __version__},
        "consort": summaries.consort(datasets.adsl, arms, {c.id: c.text for c in protocol.eligibility}),
        "baseline": summaries.baseline(datasets.adsl, arms),
        "dropouts": summaries.dropouts(datasets.adsl),
        "endpoints": {o.endpoint.id: o.to_dict() for o in outcomes},
        "virtual_sites": asdict(log),
        "audit": {"records": chain.records, "verified": chain.ok},
    }
    results = clean_json(results)
    results_path = out_dir / "results.json"
    results_path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    say("writing the report")
    primary = protocol.primary_endpoint()
    trial_info = {
        "id": protocol.id,
        "title": protocol.title,
        "registry_id": protocol.registry_id,
        "phase": protocol.phase,
        "arms": [a.name for a in protocol.arms],
        "ratio": ":".join(str(a.ratio) for a in protocol.arms),
        "n_sites": len(protocol.sites),
        "source": f"simulated trial, seed {seed}",
        "simulated": True,
        "seed": seed,
        "primary_week": protocol.visit(primary.visit).day // 7 if primary and primary.visit else "–",
        "version": __version__,
        "database": db_path.name,
    }
    html = build_report(protocol=protocol, datasets=datasets, outcomes=outcomes, results=results, trial_info=trial_info)
    report_path = out_dir / "report.html"
    report_path.write_text(html, encoding="utf-8")
    db.dispose()
    return DemoRun(out_dir, db_path, results_path, report_path, results, outcomes, log, ADMIN, admin_password)

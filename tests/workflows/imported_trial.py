"""A small trial run from the command line alone, as a data manager would: CSV files through
`alstrial import`, randomization through `alstrial randomize participant`, queries through
`alstrial query`, lock and unblinding through `alstrial lock`/`unblind`. No service function is called
here (`build_early_trial` likewise), so the analyze/report tests prove the CLI path end to end."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from typer.testing import CliRunner

from alstrial.cli import app
from alstrial.protocol import default_protocol_path
from conftest import ELIGIBLE, PASSWORD, alsfrs_items

ENV = {"ALSTRIAL_PASSWORD": PASSWORD, "ALSTRIAL_NEW_PASSWORD": PASSWORD}
SCR = date(2025, 1, 6)
DAY0 = SCR + timedelta(days=90)
POST = {"W0": 0, "W4": 28, "W8": 56, "W12": 84, "W16": 112, "W20": 140, "W24": 168, "W28": 196}
USERS = (
    ("coord", "site_coordinator", "S01"),
    ("inv", "investigator", "S01"),
    ("lab", "lab_technician", "S01"),
    ("pharm", "pharmacist", None),
    ("dm", "data_manager", None),
    ("stat", "statistician", None),
    ("ustat", "unblinded_statistician", None),
    ("dsmb", "dsmb_member", None),
)


def cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env=ENV)
    assert result.exit_code == 0, result.output
    return result.stdout


def cli_json(*args: str) -> Any:
    return json.loads(cli(*args, "--json"))


def write_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


@dataclass(frozen=True)
class ImportedTrial:
    url: str
    codes: list[str]
    arms: dict[str, str]  # participant → arm (read by the pharmacist, for the tests' expectations)
    pav: str  # the participant with permanent assisted ventilation (hypothetical strategy)
    rescue: str  # the participant who started a rescue medication (hypothetical for the MMRM estimand)


def light_protocol(folder: Path) -> Path:
    """The seed protocol with fewer imputations and cut points: the same analyses, less test time."""
    text = default_protocol_path().read_text(encoding="utf-8")
    for old, new in (
        ("imputations = 20", "imputations = 5"),
        ("baseline_thresholds = [26.0, 28.0, 30.0, 32.0, 34.0]", "baseline_thresholds = [30.0, 34.0]"),
    ):
        assert old in text
        text = text.replace(old, new, 1)
    path = folder / "protocol.toml"
    path.write_text(text, encoding="utf-8")
    return path


def build_imported_trial(
    folder: Path, *, n: int = 36, seed: int = 11, lock: bool = True, url: str | None = None
) -> ImportedTrial:
    """Screen, run in, randomize, dose and follow ``n`` participants; lock and unblind when ``lock``.
    ``url``: an empty database to fill (default: a new SQLite file in ``folder``)."""
    url = url or str(folder / "imported.db")
    rng = np.random.default_rng(seed)
    cli("init", "--db", url, "--seed", "42", "--protocol", str(light_protocol(folder)))
    for name, role, site in USERS:
        cli("user", "add", name, "--role", role, "--db", url, "--user", "admin", *(["--site", site] if site else []))

    def imp(table: str, rows: list[dict[str, object]], user: str) -> str:
        return cli("import", table, str(write_csv(folder / f"{table}.csv", rows)), "--db", url, "--user", user)

    scr_total = [int(v) for v in rng.integers(28, 44, n)]
    screening = [
        {
            "site": "S01",
            "screened_on": SCR.isoformat(),
            "consent_date": SCR.isoformat(),
            **ELIGIBLE,
            "sex": "F" if i % 3 == 0 else "M",
            "onset_region": "bulbar" if i % 4 == 0 else "limb",
            "riluzole": "true" if i % 2 else "false",
            "age_years": 30 + (i * 7) % 29,
            "alsfrs_r_total": scr_total[i],
            "alsfrs_r_runin_decline": "",
        }
        for i in range(n)
    ]
    imp("screening", screening, "coord")
    codes = [f"S01-{i + 1:04d}" for i in range(n)]
    pre = [
        {"participant": c, "visit": v, "visit_date": d.isoformat(), **alsfrs_items(t)}
        for c, s in zip(codes, scr_total, strict=True)
        for v, d, t in (("SCR", SCR, s), ("RUNIN", SCR + timedelta(days=55), s - 4))
    ]
    imp("alsfrs", pre, "coord")
    imp("runin", [{"participant": c, "enrolled_on": SCR.isoformat()} for c in codes], "coord")

    cli("randomize", "participant", *codes, "--db", url, "--user", "inv")
    arms: dict[str, str] = cli_json("randomize", "arm", *codes, "--db", url, "--user", "pharm")
    at0 = datetime(DAY0.year, DAY0.month, DAY0.day, 10, 0, tzinfo=UTC)
    aspirations = [
        {"participant": c, "aspirated_at": (at0 - timedelta(days=28)).isoformat(), "volume_ml": 60} for c in codes
    ]
    imp("aspirations", aspirations, "inv")
    made = {"manufactured_on": DAY0 - timedelta(days=3), "expires_on": DAY0 + timedelta(days=300), "release": "yes"}
    imp("lots", [{"participant": c, "dose_number": k, **made} for c in codes for k in (1, 2, 3)], "pharm")
    doses = [
        {
            "participant": lot["participant"],
            "dose_number": lot["dose_number"],
            "lot_number": lot["lot_number"],
            "label_coi_id": lot["coi_id"],
            "administered_at": (at0 + timedelta(days=POST[("W0", "W8", "W16")[lot["dose_number"] - 1]])).isoformat(),
        }
        for lot in cli_json("records", "lots", "--db", url, "--user", "pharm")
    ]
    assert len(doses) == 3 * n

    # ALSFRS-R after the first dose: a decline of about 1 point/month, slower on MSC; three
    # participants stop after week 12 and are withdrawn; one visit is out of window
    withdrawn = set(codes[5:8])
    post, labs = [], []
    for k, c in enumerate(codes):
        base = scr_total[k] - 5
        rate = (0.6 if arms[c] == "MSC" else 1.1) + rng.normal(0, 0.25)
        for v, day in POST.items():
            if c in withdrawn and day > 84:
                break
            total = int(np.clip(round(base - rate * day / 30.4375 + rng.normal(0, 0.8)), 0, 48))
            late = k == 0 and v == "W12"
            when = DAY0 + timedelta(days=day + (10 if late else 0))
            post.append(
                {
                    "participant": c,
                    "visit": v,
                    "visit_date": when.isoformat(),
                    "out_of_window_reason": "participant travelling" if late else "",
                    **alsfrs_items(total),
                }
            )
            if v in ("W0", "W8", "W16", "W28"):
                for analyte, unit, value in (
                    ("NFL", "pg/mL", 4000 * np.exp(rng.normal(0, 0.4)) * (0.85 if arms[c] == "MSC" and day else 1)),
                    ("VEGF", "pg/mL", 15 * np.exp(rng.normal(0, 0.4))),
                    ("MCP1", "pg/mL", 230 * np.exp(rng.normal(0, 0.3))),
                ):
                    labs.append(
                        {
                            "participant": c,
                            "visit": v,
                            "sample_id": f"CSF-{c}-{v}",
                            "collected_at": f"{when.isoformat()}T09:00:00Z",
                            "analyte": analyte,
                            "value": f"{value:.2f}",
                            "unit": unit,
                            "assay": "Simoa",
                            "below_lloq": "",
                        }
                    )
    imp("alsfrs", post, "coord")
    imp("doses", [d for d in doses if d["participant"] not in withdrawn or d["dose_number"] != 3], "inv")
    imp("labs", labs, "lab")
    ae = {
        "term": "Headache",
        "serious": "no",
        "criteria": "",
        "severity": "MILD",
        "relatedness": "POSSIBLY RELATED",
        "action_taken": "DOSE NOT CHANGED",
        "outcome": "RECOVERED/RESOLVED",
    }
    aes = [
        {"participant": c, "onset_date": (DAY0 + timedelta(days=2)).isoformat(), "resolution_date": "", **ae}
        for c in codes[::4]
    ]
    imp("adverse_events", aes, "inv")
    imp(
        "withdrawals",
        [
            {
                "participant": c,
                "withdrawn_on": (DAY0 + timedelta(days=100)).isoformat(),
                "reason_code": "LOST TO FOLLOW-UP",
                "decided_by": "investigator",
                "vital_status_followup": "true",
            }
            for c in sorted(withdrawn)
        ],
        "inv",
    )
    # permanent assisted ventilation from week 20: under the hypothetical strategy its later values are set
    # aside; a rescue medication (edaravone, excluded by the protocol) from week 16 likewise for the MMRM estimand
    pav, rescue = codes[10], codes[12]
    ice = {"hours_per_day": "", "consecutive_days": "", "details": ""}
    events = [
        {"participant": pav, "kind": "permanent_assisted_ventilation", "event_date": DAY0 + timedelta(days=150)}
        | {"hours_per_day": 23, "consecutive_days": 10, "details": ""},
        {"participant": rescue, "kind": "rescue_medication", "event_date": DAY0 + timedelta(days=115)}
        | ice
        | {"details": "edaravone 60 mg IV"},
    ]
    imp("intercurrent_events", events, "inv")
    ae_ids = [ae["id"] for ae in cli_json("records", "adverse_events", "--db", url, "--user", "dm")]
    q1 = cli_json("query", "open", "--db", url, "--user", "dm", "--entity", "adverse_event", "--id", str(ae_ids[0]),
                  "--field", "term", "--text", "MedDRA term?")[0]  # fmt: skip
    cli("query", "open", "--db", url, "--user", "dm", "--entity", "adverse_event", "--id", str(ae_ids[1]),
        "--field", "severity", "--text", "Severity?")  # fmt: skip
    cli("query", "close", str(q1["id"]), "--db", url, "--user", "dm", "--note", "confirmed")
    if lock:
        lock_and_unblind(url)
    return ImportedTrial(url, codes, arms, pav, rescue)


def lock_and_unblind(url: str) -> None:
    """Lock and unblind from the command line, signed by the admin. One query is left open on purpose
    (it shows in the data-quality appendix) and the casebooks are unsigned, so the lock is an override."""
    cli("lock", "--db", url, "--user", "admin", "--reason", "final analysis",
        "--override", "test trial: one query left open and casebooks unsigned on purpose")  # fmt: skip
    cli("unblind", "--db", url, "--user", "admin", "--reason", "final analysis")


def build_early_trial(folder: Path, *, n: int = 6, randomized: int = 4) -> str:
    """An open trial at its start: screened and run in through imports, some randomized, nobody dosed."""
    url = str(folder / "early.db")
    cli("init", "--db", url, "--seed", "1")
    for name, role, site in USERS:
        cli("user", "add", name, "--role", role, "--db", url, "--user", "admin", *(["--site", site] if site else []))
    rows = [
        {"site": "S01", "screened_on": SCR.isoformat(), "consent_date": SCR.isoformat(), **ELIGIBLE}
        | {"alsfrs_r_runin_decline": ""}
        for _ in range(n)
    ]
    cli("import", "screening", str(write_csv(folder / "s.csv", rows)), "--db", url, "--user", "coord")
    codes = [f"S01-{i + 1:04d}" for i in range(n)]
    pre = [
        {"participant": c, "visit": v, "visit_date": d.isoformat(), **alsfrs_items(t)}
        for c in codes
        for v, d, t in (("SCR", SCR, 38), ("RUNIN", SCR + timedelta(days=55), 34))
    ]
    cli("import", "alsfrs", str(write_csv(folder / "a.csv", pre)), "--db", url, "--user", "coord")
    runin = [{"participant": c, "enrolled_on": SCR.isoformat()} for c in codes]
    cli("import", "runin", str(write_csv(folder / "r.csv", runin)), "--db", url, "--user", "coord")
    cli("randomize", "participant", *codes[:randomized], "--db", url, "--user", "inv")
    return url


def shared_trials(root: Path, dest: Path) -> tuple[ImportedTrial, ImportedTrial]:
    """The imported trial open and locked, built once per test session (under a file lock, so the
    pytest-xdist workers share it) and copied into ``dest`` for the calling worker."""
    import fcntl
    import json
    import shutil

    folder = root / "imported-trial"
    with (root / "imported-trial.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "trial.json").exists():
            folder.mkdir(exist_ok=True)
            built = build_imported_trial(folder, lock=False)
            shutil.copy(built.url, folder / "locked.db")
            lock_and_unblind(str(folder / "locked.db"))
            meta = {"codes": built.codes, "arms": built.arms, "pav": built.pav, "rescue": built.rescue}
            (folder / "trial.json").write_text(json.dumps(meta), encoding="utf-8")
    meta = json.loads((folder / "trial.json").read_text(encoding="utf-8"))
    out = []
    for name in ("imported.db", "locked.db"):
        shutil.copy(folder / name, dest / name)
        out.append(ImportedTrial(str(dest / name), meta["codes"], meta["arms"], meta["pav"], meta["rescue"]))
    return out[0], out[1]

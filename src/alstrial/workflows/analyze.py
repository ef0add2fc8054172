"""Analyse any capture database: the protocol's analysis plan, keyed by estimand, with provenance.

``analyse_database`` reads the protocol stored in the database, checks that the analysis may
run (a final analysis needs a locked, unblinded database; an interim look with arms needs a
role that may see them), derives the analysis datasets, runs the plan and the prespecified
subgroups and assembles ``results.json``. ``write_analysis`` writes it and one CSV per result
table. ``alstrial analyze`` and ``alstrial demo`` both call these functions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select

from alstrial import __version__
from alstrial.analysis import summaries
from alstrial.analysis.datasets import AnalysisDatasets
from alstrial.analysis.estimands import adice_from_store
from alstrial.analysis.from_store import datasets_from_store
from alstrial.analysis.plan import AnalysisPlan, EndpointOutcome, clean_json
from alstrial.analysis.subgroups import SubgroupResult
from alstrial.errors import AlstrialError
from alstrial.protocol import parse_protocol
from alstrial.protocol.models import Protocol
from alstrial.services import policy
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB
from alstrial.services.exceptions import PermissionDenied
from alstrial.store.audit_chain import ChainVerification, verify_chain
from alstrial.store.models import Trial


class AnalysisRefused(AlstrialError):
    """The database is not in a state in which this analysis may run (e.g. unlocked without --interim)."""


@dataclass(frozen=True)
class DatabaseState:
    """What the analysis read besides the data: the protocol as stored, lock and blinding, the audit chain."""

    protocol: Protocol
    protocol_sha256: str
    locked: bool
    unblinded: bool
    audit: ChainVerification

    def to_dict(self, *, head_hash: bool = True) -> dict[str, Any]:
        audit: dict[str, Any] = {"records": self.audit.records, "verified": self.audit.ok}
        if head_hash:
            audit["head_hash"] = self.audit.head_hash
        return {"locked": self.locked, "unblinded": self.unblinded, "audit": audit}


@dataclass(frozen=True)
class TrialAnalysis:
    """Everything one analysis produced: datasets, the plan's outcomes, subgroups and ``results``."""

    protocol: Protocol
    state: DatabaseState
    interim: bool
    datasets: AnalysisDatasets
    outcomes: tuple[EndpointOutcome, ...]
    subgroups: SubgroupResult | None
    results: dict[str, Any]

    def __str__(self) -> str:
        lines = [
            f"{self.protocol.id}: {'interim' if self.interim else 'final'} analysis of "
            f"{int(self.datasets.fas.shape[0])} participants (full analysis set)"
        ]
        for key, e in self.results["estimands"].items():
            lines.append(f"  {key}: " + (f"not analysed — {e['error']}" if "error" in e else headline(e)))
        return "\n".join(lines)


def headline(entry: dict[str, Any]) -> str:
    """One line for an estimand's main estimate."""
    rows = estimate_rows("", entry)
    if not rows:
        return "summarised in the tables"
    r = rows[0]

    def f(x: Any) -> str:
        return "–" if x is None else f"{x:.3g}"

    ci = "" if r["ci_lower"] is None else f" (95% CI {f(r['ci_lower'])} to {f(r['ci_upper'])})"
    return f"{r['quantity']} {f(r['estimate'])}{ci}, p = {f(r['p_value'])}"


def read_state(db: CaptureDB) -> DatabaseState:
    with db.sessions() as session:
        trial = session.execute(select(Trial)).scalar_one_or_none()
        if trial is None:
            raise AnalysisRefused("the database holds no trial; create one with `alstrial init`")
        protocol = parse_protocol(trial.protocol_toml, source="protocol stored in the database")
        return DatabaseState(
            protocol=protocol,
            protocol_sha256=trial.protocol_sha256,
            locked=bool(trial.locked),
            unblinded=trial.unblinded_at is not None,
            audit=verify_chain(session),
        )


def check_may_analyse(state: DatabaseState, actor: Actor | None, *, interim: bool) -> None:
    """Refuse a final analysis of an unlocked or blinded database, and arms to a blinded role."""
    if not interim and not state.locked:
        raise AnalysisRefused(
            "the database is not locked: lock it before the final analysis, or pass --interim for an interim look"
        )
    if not interim and not state.unblinded:
        raise AnalysisRefused(
            "the database is locked but still blinded: unblind it before the final analysis, "
            "or pass --interim for an analysis by an unblinded role"
        )
    if actor is None:
        return
    policy.require(actor, policy.Permission.READ)
    if not policy.sees_arm(actor.role, trial_unblinded=state.unblinded):
        allowed = ", ".join(sorted(policy.UNBLINDED_ROLES))
        raise PermissionDenied(
            f"{actor} may not see treatment arms while the trial is blinded; an interim analysis by arm needs "
            f"one of the roles {allowed}"
        )


def load_datasets(db: CaptureDB, protocol: Protocol, *, interim: bool) -> tuple[AnalysisDatasets, pd.DataFrame]:
    """The analysis datasets and the intercurrent events (ADICE), read in one session."""
    with db.sessions() as session:
        return datasets_from_store(session, protocol, interim=interim), adice_from_store(session)


def analyse_database(
    db: CaptureDB,
    actor: Actor | None,
    *,
    interim: bool = False,
    seed: int = 0,
    analysis_time: datetime | None = None,
    trial_extra: dict[str, Any] | None = None,
    provenance: bool = True,
) -> TrialAnalysis:
    """Run the stored protocol's analysis plan on the database (``actor=None``: a trusted in-process
    caller such as the demo). ``provenance=False`` leaves the audit head hash and the analysis time out
    of ``results`` (the demo keeps them in ``run.json`` so that ``results.json`` is byte-stable)."""
    state = read_state(db)
    check_may_analyse(state, actor, interim=interim)
    protocol = state.protocol
    datasets, adice = load_datasets(db, protocol, interim=interim)
    plan = AnalysisPlan(protocol, seed=seed, adice=adice)
    outcomes = tuple(plan.run(datasets))
    subgroups = plan.subgroups(datasets)
    results = assemble_results(
        protocol,
        state,
        datasets,
        outcomes,
        subgroups,
        interim=interim,
        seed=seed,
        analysis_time=analysis_time if provenance else None,
        trial_extra=trial_extra,
        provenance=provenance,
    )
    return TrialAnalysis(protocol, state, interim, datasets, outcomes, subgroups, results)


def result_key(protocol: Protocol, outcome: EndpointOutcome) -> str:
    est = protocol.estimand_for(outcome.endpoint.id)
    return est.id if est is not None else outcome.endpoint.id


def assemble_results(
    protocol: Protocol,
    state: DatabaseState,
    datasets: AnalysisDatasets,
    outcomes: tuple[EndpointOutcome, ...],
    subgroups: SubgroupResult | None,
    *,
    interim: bool,
    seed: int,
    analysis_time: datetime | None,
    trial_extra: dict[str, Any] | None,
    provenance: bool,
) -> dict[str, Any]:
    arms = [a.code for a in protocol.arms]
    estimands: dict[str, Any] = {}
    for o in outcomes:
        est = protocol.estimand_for(o.endpoint.id)
        entry = {"endpoint": o.endpoint.id, **o.to_dict()}
        if est is not None:
            entry["definition"] = est.model_dump(mode="json")
        estimands[result_key(protocol, o)] = entry
    results: dict[str, Any] = {
        "trial": {
            "id": protocol.id,
            "title": protocol.title,
            "registry_id": protocol.registry_id,
            "seed": seed,
            **(trial_extra or {}),
        },
        "versions": {"alstrial": __version__, "protocol": {"id": protocol.id, "sha256": state.protocol_sha256}},
        "database": {**state.to_dict(head_hash=provenance), "interim": interim},
        "consort": summaries.consort(datasets.adsl, arms, {c.id: c.text for c in protocol.eligibility}),
        "baseline": summaries.baseline(datasets.adsl, arms),
        "dropouts": summaries.dropouts(datasets.adsl),
        "estimands": estimands,
        "subgroups": None if subgroups is None else subgroups.to_dict(),
        # kept for readers of the first results.json layout
        "audit": {"records": state.audit.records, "verified": state.audit.ok},
    }
    if analysis_time is not None:
        results["analysis_time"] = analysis_time.isoformat()
    return clean_json(results)


# -- tables -------------------------------------------------------------------------------------
def _row(key: str, entry: dict[str, Any], analysis: str, quantity: str, d: dict[str, Any], est: str) -> dict[str, Any]:
    return {
        "estimand": key,
        "endpoint": entry.get("endpoint"),
        "analysis": analysis,
        "quantity": quantity,
        "estimate": d.get(est),
        "ci_lower": d.get("ci_lower"),
        "ci_upper": d.get("ci_upper"),
        "p_value": d.get("p_value"),
    }


def estimate_rows(key: str, entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Every estimate of one estimand entry with its CI and p-value (the main analysis first)."""
    r = entry.get("result")
    if r is None:
        return []
    method = entry.get("method")
    rows: list[dict[str, Any]] = []
    if method == "responder":
        rows.append(_row(key, entry, "primary", "odds ratio", r, "odds_ratio"))
    elif method == "mmrm_change":
        rows.append(_row(key, entry, "MMRM", "difference in mean change", r, "difference"))
        for name, s in (entry.get("sensitivity") or {}).items():
            if name == "tipping_point":
                continue
            rows.append(_row(key, entry, f"MI {name}", "difference in mean change", s, "estimate"))
    elif method == "slope":
        rows.append(_row(key, entry, "random-slope model", "slope difference, points/month", r, "slope_difference"))
    elif method == "cafs":
        rows.append({**_row(key, entry, "Finkelstein-Schoenfeld", "z", r, "z"), "ci_lower": None, "ci_upper": None})
    elif method == "survival":
        lr = r.get("logrank") or {}
        rows.append({**_row(key, entry, "log-rank", "chi-square", lr, "chisq"), "ci_lower": None, "ci_upper": None})
        for term in r.get("cox") or []:
            rows.append(_row(key, entry, "Cox", f"hazard ratio {term.get('term', '')}".strip(), term, "hazard_ratio"))
    elif method == "biomarker":
        for code, b in r.items():
            rows.append(_row(key, entry, f"ANCOVA {code}", "geometric-mean ratio", b, "ratio"))
    return rows


def result_tables(results: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """The tables of ``results`` as data frames, one CSV each."""
    tables: dict[str, pd.DataFrame] = {}
    rows = [row for key, e in results["estimands"].items() for row in estimate_rows(key, e)]
    tables["estimates"] = pd.DataFrame(
        rows, columns=["estimand", "endpoint", "analysis", "quantity", "estimate", "ci_lower", "ci_upper", "p_value"]
    )
    for key, e in results["estimands"].items():
        r, method = e.get("result"), e.get("method")
        if r is None:
            continue
        if method == "responder":
            tables["responder_proportions"] = pd.DataFrame(r["proportions"])
            if e.get("rates_by_threshold"):
                tables["responder_rates_by_threshold"] = pd.DataFrame(e["rates_by_threshold"])
        elif method == "mmrm_change":
            tables["mmrm_lsmeans"] = pd.DataFrame(r["lsmeans"]).T.rename_axis("arm").reset_index()
            tip = (e.get("sensitivity") or {}).get("tipping_point")
            if tip:
                tables["tipping_point"] = pd.DataFrame(tip["table"])
        elif method == "survival":
            tables["km"] = pd.concat(
                [pd.DataFrame(km["table"]).assign(arm=arm) for arm, km in r["km"].items()], ignore_index=True
            )
        elif method == "biomarker":
            tables["biomarkers"] = pd.DataFrame(
                [{"analyte": k, **{c: v for c, v in b.items() if not isinstance(v, list | dict)}} for k, b in r.items()]
            )
        elif method == "safety":
            tables["safety_overview"] = pd.DataFrame(r["overview"]).T.rename_axis("category").reset_index()
            tables["safety_by_term"] = pd.DataFrame(r["by_term"]).T.rename_axis("term").reset_index()
        _ = key
    tables["baseline"] = pd.DataFrame(results["baseline"]).T.rename_axis("arm").reset_index()
    consort_arms = {
        a: {k: v for k, v in d.items() if not isinstance(v, dict)} for a, d in results["consort"]["arms"].items()
    }
    tables["consort"] = pd.DataFrame(consort_arms).T.rename_axis("arm").reset_index()
    if results.get("subgroups"):
        tables["subgroups"] = pd.DataFrame(results["subgroups"]["rows"])
        tables["subgroup_interactions"] = pd.DataFrame(results["subgroups"]["interactions"])
    return tables


def write_analysis(results: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write ``results.json`` and ``tables/<name>.csv`` into ``out_dir``; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "results.json"
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    written = [path]
    table_dir = out_dir / "tables"
    table_dir.mkdir(exist_ok=True)
    for name, frame in result_tables(results).items():
        p = table_dir / f"{name}.csv"
        frame.to_csv(p, index=False, lineterminator="\n")
        written.append(p)
    return written

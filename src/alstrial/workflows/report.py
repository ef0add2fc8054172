"""Reports of any capture database for three audiences, as HTML and (optionally) PDF.

- ``sponsor``: the full study report after lock and unblinding (refused before).
- ``dsmb-closed``: the same analyses with the arms under codes A and B; the key (which code is
  which arm) is returned separately and never written into the report. Works on an unlocked
  database for an interim look; only roles that may see arms (dsmb_member,
  unblinded_statistician) may produce it.
- ``dsmb-open``: pooled data only — enrolment, baseline, pooled safety, missing data, data
  quality. The arms are dropped right after the data are read, so no table or figure can split
  by arm. Works on an unlocked database.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from alstrial import __version__
from alstrial.analysis import summaries
from alstrial.analysis.datasets import AnalysisDatasets
from alstrial.analysis.plan import AnalysisPlan
from alstrial.analysis.safety import safety_summary
from alstrial.analysis.store_extras import data_quality_from_store, visits_from_store
from alstrial.errors import AlstrialError
from alstrial.protocol.models import Arm, Protocol
from alstrial.report.build import build_open_report, build_report
from alstrial.services import policy
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB
from alstrial.services.exceptions import PermissionDenied
from alstrial.workflows.analyze import (
    AnalysisRefused,
    DatabaseState,
    TrialAnalysis,
    analyse_database,
    assemble_results,
    check_may_analyse,
    load_datasets,
    read_state,
)

Audience = Literal["sponsor", "dsmb-open", "dsmb-closed"]
AUDIENCES: tuple[str, ...] = ("sponsor", "dsmb-open", "dsmb-closed")
#: Who may produce each report (sponsor: any reading role, but only once the trial is unblinded).
AUDIENCE_ROLES: dict[str, frozenset[str]] = {
    "dsmb-open": frozenset({"dsmb_member", "unblinded_statistician", "statistician", "admin"}),
    "dsmb-closed": frozenset({"dsmb_member", "unblinded_statistician"}),
}
TITLES = {"sponsor": "Study report", "dsmb-open": "DSMB open report", "dsmb-closed": "DSMB closed report"}
NOTES = {
    "sponsor": "",
    "dsmb-open": "Open session: all arms pooled. This report holds no result by arm; those are in the closed report.",
    "dsmb-closed": "Closed session, CONFIDENTIAL: arms are shown as A and B; the key is held separately by the "
    "unblinded statistician. Do not circulate outside the DSMB closed session.",
}


class ReportError(AlstrialError):
    """A report that cannot be produced as asked (unknown audience, ...)."""


@dataclass(frozen=True)
class ReportRun:
    """The rendered report and, for the closed report, the arm key held apart from it."""

    audience: str
    html: str
    key: dict[str, str] | None
    analysis: TrialAnalysis | None

    def write(self, out: Path, *, pdf: bool = False, key_out: Path | None = None) -> list[Path]:
        """Write the HTML (and the PDF next to it, and the key file for the closed report)."""
        out.parent.mkdir(parents=True, exist_ok=True)
        written = []
        if out.suffix.lower() == ".pdf":
            html_path = out.with_suffix(".html")
            pdf = True
        else:
            html_path = out
        html_path.write_text(self.html, encoding="utf-8")
        written.append(html_path)
        if pdf:
            pdf_path = out if out.suffix.lower() == ".pdf" else out.with_suffix(".pdf")
            write_pdf(self.html, pdf_path, base=html_path.parent)
            written.append(pdf_path)
        if self.key is not None:
            import json

            path = key_out or out.with_name(out.stem + ".key.json")
            path.write_text(json.dumps(self.key, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            written.append(path)
        return written


def write_pdf(html: str, out: Path, *, base: Path | None = None) -> Path:
    """Paginate the self-contained HTML with WeasyPrint (running headers come from its @page rules)."""
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    HTML(string=html, base_url=str(base or out.parent)).write_pdf(str(out))
    return out


def check_audience(audience: str, actor: Actor | None, state: DatabaseState) -> None:
    if audience not in AUDIENCES:
        raise ReportError(f"invalid audience {audience!r}, expected one of {', '.join(AUDIENCES)}")
    if actor is None:
        return
    policy.require(actor, policy.Permission.READ)
    allowed = AUDIENCE_ROLES.get(audience)
    if allowed is not None and actor.role not in allowed:
        raise PermissionDenied(
            f"{actor} may not produce the {audience} report; allowed roles: {', '.join(sorted(allowed))}"
        )
    if audience == "sponsor" and not (state.locked and state.unblinded):
        raise AnalysisRefused(
            "the sponsor report needs a locked and unblinded database; for an interim look use --audience dsmb-open "
            "or dsmb-closed"
        )


def trial_info(
    protocol: Protocol, *, audience: str, database: str, arms: list[str], when: datetime, extra: dict[str, Any] | None
) -> dict[str, Any]:
    primary = protocol.primary_endpoint()
    info: dict[str, Any] = {
        "id": protocol.id,
        "title": protocol.title,
        "registry_id": protocol.registry_id,
        "phase": protocol.phase,
        "arms": arms,
        "ratio": ":".join(str(a.ratio) for a in protocol.arms),
        "n_sites": len(protocol.sites),
        "source": "capture database",
        "simulated": False,
        "seed": None,
        "primary_week": protocol.visit(primary.visit).day // 7 if primary and primary.visit else "–",
        "version": __version__,
        "database": database,
        "date": when.strftime("%Y-%m-%d"),
        "audience_title": TITLES[audience],
        "audience_note": NOTES[audience],
    }
    info.update(extra or {})
    return info


def _extras(db: CaptureDB) -> tuple[pd.DataFrame, dict[str, Any], pd.DataFrame]:
    from alstrial.services.signatures import all_signatures

    with db.sessions() as session:
        visits = visits_from_store(session)
        quality = data_quality_from_store(session)
        signed = all_signatures(session)
    facts = quality.to_dict()
    facts["signatures"] = signature_summary(signed)
    return visits, facts, quality.out_of_window


def signature_summary(signed: list[Any]) -> dict[str, Any]:
    """Signatures by kind (valid / broken) and the list the appendix shows (who signed what, when, still valid?)."""
    kinds: dict[str, dict[str, int]] = {}
    for s in signed:
        kinds.setdefault(s.kind, {"valid": 0, "broken": 0})[s.status] += 1
    rows = [
        {
            "kind": s.kind,
            "target": s.target,
            "meaning": s.meaning,
            "signer": f"{s.printed_name} ({s.role})",
            "signed_at": s.signed_at.strftime("%Y-%m-%d %H:%M UTC"),
            "status": s.status,
        }
        for s in signed
    ]
    return {"by_kind": kinds, "rows": rows}


def _recode(frame: pd.DataFrame, mapping: dict[str, str]) -> pd.DataFrame:
    return frame.assign(ARM=frame["ARM"].map(lambda a: mapping.get(a, a) if isinstance(a, str) else a))


def recode_arms(ds: AnalysisDatasets, mapping: dict[str, str]) -> AnalysisDatasets:
    """The datasets with every ``ARM`` value replaced through ``mapping`` (codes or one pooled label)."""
    return AnalysisDatasets(
        adsl=_recode(ds.adsl, mapping),
        adqs=_recode(ds.adqs, mapping),
        adqs_runin=_recode(ds.adqs_runin, mapping),
        adlb=_recode(ds.adlb, mapping),
        adtte=_recode(ds.adtte, mapping),
        adae=_recode(ds.adae, mapping),
    )


def masked_protocol(protocol: Protocol, key: dict[str, str]) -> Protocol:
    """The protocol with arms A/B; B is the reference whichever arm it hides, so nothing reveals the control."""
    codes = sorted(key)
    arms = [Arm(code=c, name=f"Arm {c}", ratio=protocol.arm(key[c]).ratio, is_control=c == codes[-1]) for c in codes]
    return protocol.model_copy(update={"arms": arms})


def draw_key(protocol: Protocol, rng: secrets.SystemRandom | None = None) -> dict[str, str]:
    """A random code → arm key (A, B, ...), drawn afresh for every closed report."""
    arms = [a.code for a in protocol.arms]
    (rng or secrets.SystemRandom()).shuffle(arms)
    return {chr(ord("A") + i): arm for i, arm in enumerate(arms)}


def ongoing(consort: dict[str, Any]) -> None:
    """In an interim look, 'not at the primary visit' mostly means 'not there yet': say so."""
    for arm in consort["arms"].values():
        reasons = arm["discontinuation_reasons"]
        if "missed_primary_visit" in reasons:
            reasons["ongoing or missed the primary visit"] = reasons.pop("missed_primary_visit")


def report_database(
    db: CaptureDB,
    actor: Actor | None,
    *,
    audience: str = "sponsor",
    seed: int = 0,
    database_label: str = "the capture database",
    key: dict[str, str] | None = None,
    analysis: TrialAnalysis | None = None,
    trial_extra: dict[str, Any] | None = None,
    when: datetime | None = None,
) -> ReportRun:
    """Build the report for ``audience`` (``analysis``: reuse a sponsor analysis already run)."""
    state = read_state(db)
    check_audience(audience, actor, state)
    protocol = state.protocol
    when = when or datetime.now(UTC)
    visits, quality, oow = _extras(db)
    if audience == "sponsor":
        run = analysis or analyse_database(db, actor, seed=seed, analysis_time=when)
        info = trial_info(
            protocol, audience=audience, database=database_label, arms=[a.name for a in protocol.arms], when=when,
            extra=trial_extra,
        )  # fmt: skip
        html = build_report(
            protocol=protocol,
            datasets=run.datasets,
            outcomes=run.outcomes,
            results=run.results,
            trial_info=info,
            domains=visits,
            quality=quality,
            out_of_window=oow,
        )
        return ReportRun(audience, html, None, run)

    interim = not (state.locked and state.unblinded)
    if audience == "dsmb-closed":
        check_may_analyse(state, actor, interim=True)
        datasets, adice = load_datasets(db, protocol, interim=interim)
        key = key or draw_key(protocol)
        masked = masked_protocol(protocol, key)
        coded = recode_arms(datasets, {arm: code for code, arm in key.items()})
        if set(coded.adsl["ARM"].dropna()) - set(key):
            raise ReportError(f"the key {sorted(key)} does not cover the arms of the database")
        plan = AnalysisPlan(masked, seed=seed, adice=adice)
        outcomes = tuple(plan.run(coded))
        subgroups = plan.subgroups(coded)
        results = assemble_results(
            masked, state, coded, outcomes, subgroups, interim=interim, seed=seed, analysis_time=when,
            trial_extra=trial_extra, provenance=True,
        )  # fmt: skip
        if interim:
            ongoing(results["consort"])
        info = trial_info(
            masked, audience=audience, database=database_label, arms=[a.name for a in masked.arms], when=when,
            extra=trial_extra,
        )  # fmt: skip
        html = build_report(
            protocol=masked,
            datasets=coded,
            outcomes=outcomes,
            results=results,
            trial_info=info,
            domains=visits,
            quality=quality,
            out_of_window=oow,
            arm_label="arms coded A/B",
        )
        return ReportRun(audience, html, key, None)

    # dsmb-open: read with arms (the datasets need them to be built), pool at once, never pass arms on
    datasets, _ = load_datasets(db, protocol, interim=True)
    pooled = recode_arms(datasets, {a.code: "All" for a in protocol.arms})
    adsl = pooled.adsl
    consort = summaries.consort(adsl, ["All"], {c.id: c.text for c in protocol.eligibility})
    if interim:
        ongoing(consort)
    results = {
        "consort": consort,
        "baseline": summaries.baseline(adsl, ["All"]),
        "dropouts": summaries.dropouts(adsl),
        "audit": {"records": state.audit.records, "verified": state.audit.ok},
    }
    info = trial_info(
        protocol, audience=audience, database=database_label, arms=["arms pooled"], when=when, extra=trial_extra
    )
    html = build_open_report(
        datasets=pooled,
        results=results,
        trial_info=info,
        safety=safety_summary(adsl, pooled.adae, ["All"]),
        quality=quality,
        out_of_window=oow,
        protocol=protocol,
    )
    return ReportRun(audience, html, None, None)

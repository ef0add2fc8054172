"""Every write service of the capture layer as a ready-to-run call, for the enumerating tests
(lock blocks every write, wrong roles are refused everywhere)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from alstrial import services as sv
from alstrial.services.actor import Actor
from alstrial.services.policy import Permission
from conftest import ELIGIBLE, PASSWORD, SCREEN_DAY, Trial, alsfrs_items

DAY0 = SCREEN_DAY + timedelta(days=90)
AT0 = datetime(DAY0.year, DAY0.month, DAY0.day, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class WriteCall:
    name: str
    permission: Permission
    role: str  # a role allowed to make the call
    run: Callable[[Trial, Actor, dict[str, Any]], object]


def prepare(t: Trial) -> dict[str, Any]:
    """State on which every call below succeeds once, in list order."""
    ctx: dict[str, Any] = {}
    ctx["eligible"] = t.screen()
    ctx["enrolled"] = t.enrolled()
    code = ctx["rand"] = t.at_day0()
    inv, pharm = t["investigator"], t["pharmacist"]
    ctx["bma"] = sv.record_aspiration(t.db, inv, code, aspirated_at=AT0 - timedelta(days=28), volume_ml=60)
    lots = [
        sv.manufacture_lot(
            t.db,
            pharm,
            aspiration_id=ctx["bma"],
            dose_number=n,
            manufactured_on=DAY0 - timedelta(days=3),
            expires_on=DAY0 + timedelta(days=200),
        )
        for n in (1, 2)
    ]
    sv.release_lot(t.db, pharm, lots[0].lot_number)
    ctx["lot_released"], ctx["lot_made"], ctx["coi"] = lots[0].lot_number, lots[1].lot_number, lots[0].coi_id
    sv.record_csf_sample(t.db, inv, code, visit="W0", sample_id="CSF-1", collected_at=AT0)
    ctx["ae"] = sv.record_adverse_event(
        t.db,
        inv,
        code,
        term="Headache",
        onset_date=DAY0,
        severity="MILD",
        relatedness="POSSIBLY RELATED",
        action_taken="DOSE NOT CHANGED",
        outcome="RECOVERED/RESOLVED",
        resolution_date=DAY0 + timedelta(days=2),
    )
    ctx["query"] = sv.open_query(
        t.db,
        t["data_manager"],
        entity="adverse_event",
        entity_id=ctx["ae"],
        field="term",
        text="Please give the MedDRA-codable term",
    ).id
    return ctx


WRITE_CALLS: list[WriteCall] = [
    WriteCall("add_site", Permission.MANAGE_SITES, "admin", lambda t, a, c: sv.add_site(t.db, a, "S99", "Site 99")),
    WriteCall(
        "add_user",
        Permission.MANAGE_USERS,
        "admin",
        lambda t, a, c: sv.add_user(t.db, a, username="newbie", role="statistician", password="long-enough-pw"),
    ),
    WriteCall(
        "screen_participant",
        Permission.SCREEN,
        "site_coordinator",
        lambda t, a, c: sv.screen_participant(
            t.db, a, screened_on=SCREEN_DAY, consent_date=SCREEN_DAY, values=ELIGIBLE, site="S01"
        ),
    ),
    WriteCall(
        "enrol_participant",
        Permission.ENROL,
        "site_coordinator",
        lambda t, a, c: sv.enrol_participant(t.db, a, c["eligible"], enrolled_on=SCREEN_DAY),
    ),
    WriteCall(
        "complete_runin",
        Permission.RANDOMIZE,
        "site_coordinator",
        lambda t, a, c: sv.complete_runin(t.db, a, c["enrolled"]),
    ),
    WriteCall(
        "randomize_participant",
        Permission.RANDOMIZE,
        "investigator",
        lambda t, a, c: sv.randomize_participant(t.db, a, c["enrolled"]),
    ),
    WriteCall(
        "record_visit",
        Permission.RECORD_VISIT,
        "site_coordinator",
        lambda t, a, c: sv.record_visit(t.db, a, c["rand"], "W4", DAY0 + timedelta(days=28)),
    ),
    WriteCall(
        "record_alsfrs",
        Permission.RECORD_ASSESSMENT,
        "site_coordinator",
        lambda t, a, c: sv.record_alsfrs(t.db, a, c["rand"], "W0", alsfrs_items(33)),
    ),
    WriteCall(
        "record_vital_capacity",
        Permission.RECORD_ASSESSMENT,
        "site_coordinator",
        lambda t, a, c: sv.record_vital_capacity(t.db, a, c["rand"], "W0", percent_predicted=78.0, liters=3.1),
    ),
    WriteCall(
        "record_weight",
        Permission.RECORD_ASSESSMENT,
        "site_coordinator",
        lambda t, a, c: sv.record_weight(t.db, a, c["rand"], "W0", weight_kg=71.5),
    ),
    WriteCall(
        "record_csf_sample",
        Permission.RECORD_LAB,
        "lab_technician",
        lambda t, a, c: sv.record_csf_sample(t.db, a, c["rand"], visit="W0", sample_id="CSF-2", collected_at=AT0),
    ),
    WriteCall(
        "record_lab_result",
        Permission.RECORD_LAB,
        "lab_technician",
        lambda t, a, c: sv.record_lab_result(
            t.db, a, sample_id="CSF-1", analyte="NFL", value=2.5, unit="ng/mL", assay="Simoa NF-light"
        ),
    ),
    WriteCall(
        "record_lab_results",
        Permission.RECORD_LAB,
        "lab_technician",
        lambda t, a, c: sv.record_lab_results(
            t.db,
            a,
            sample_id="CSF-1",
            results=[sv.LabResultInput("VEGF", 40.0, "pg/mL"), sv.LabResultInput("MCP1", 0.3, "ng/mL")],
            assay="ELISA",
        ),
    ),
    WriteCall(
        "record_aspiration",
        Permission.RECORD_ASPIRATION,
        "investigator",
        lambda t, a, c: sv.record_aspiration(t.db, a, c["rand"], aspirated_at=AT0, volume_ml=50),
    ),
    WriteCall(
        "manufacture_lot",
        Permission.MANUFACTURE,
        "pharmacist",
        lambda t, a, c: sv.manufacture_lot(
            t.db, a, aspiration_id=c["bma"], dose_number=3, manufactured_on=DAY0, expires_on=DAY0 + timedelta(days=200)
        ),
    ),
    WriteCall(
        "release_lot", Permission.MANUFACTURE, "pharmacist", lambda t, a, c: sv.release_lot(t.db, a, c["lot_made"])
    ),
    WriteCall(
        "administer_dose",
        Permission.ADMINISTER,
        "investigator",
        lambda t, a, c: sv.administer_dose(
            t.db, a, c["rand"], lot_number=c["lot_released"], label_coi_id=c["coi"], administered_at=AT0, dose_number=1
        ),
    ),
    WriteCall(
        "record_adverse_event",
        Permission.RECORD_SAFETY,
        "investigator",
        lambda t, a, c: sv.record_adverse_event(
            t.db,
            a,
            c["rand"],
            term="Back pain",
            onset_date=DAY0,
            severity="MODERATE",
            relatedness="RELATED",
            action_taken="DOSE NOT CHANGED",
            outcome="RECOVERING/RESOLVING",
        ),
    ),
    WriteCall(
        "record_intercurrent_event",
        Permission.RECORD_SAFETY,
        "investigator",
        lambda t, a, c: sv.record_intercurrent_event(
            t.db, a, c["rand"], kind="niv_start", event_date=DAY0 + timedelta(days=40)
        ),
    ),
    WriteCall(
        "correct_value",
        Permission.CORRECT,
        "investigator",
        lambda t, a, c: sv.correct_value(
            t.db,
            a,
            entity="adverse_event",
            entity_id=c["ae"],
            field="term",
            new_value="Post-lumbar-puncture headache",
            reason="query answered",
            version=1,
        ),
    ),
    WriteCall(
        "open_query",
        Permission.OPEN_QUERY,
        "data_manager",
        lambda t, a, c: sv.open_query(
            t.db,
            a,
            entity="adverse_event",
            entity_id=c["ae"],
            field="severity",
            text="Severity consistent with the narrative?",
        ),
    ),
    WriteCall(
        "answer_query",
        Permission.ANSWER_QUERY,
        "investigator",
        lambda t, a, c: sv.answer_query(t.db, a, c["query"], answer="Term updated"),
    ),
    WriteCall(
        "close_query",
        Permission.CLOSE_QUERY,
        "data_manager",
        lambda t, a, c: sv.close_query(t.db, a, c["query"], note="resolved"),
    ),
    WriteCall(
        "discontinue_treatment",
        Permission.RECORD_DISPOSITION,
        "investigator",
        lambda t, a, c: sv.discontinue_treatment(
            t.db, a, c["rand"], on=DAY0 + timedelta(days=60), reason_code="ADVERSE EVENT", decided_by="investigator"
        ),
    ),
    WriteCall(
        "withdraw_participant",
        Permission.RECORD_DISPOSITION,
        "investigator",
        lambda t, a, c: sv.withdraw_participant(
            t.db,
            a,
            c["rand"],
            on=DAY0 + timedelta(days=90),
            reason_code="WITHDRAWAL BY SUBJECT",
            decided_by="participant",
        ),
    ),
    WriteCall(
        "sign_casebook",
        Permission.SIGN_CASEBOOK,
        "investigator",
        lambda t, a, c: sv.sign_casebook(t.db, a, c["rand"], password=PASSWORD, meaning="approval"),
    ),
]

ADMIN_CALLS: list[WriteCall] = [
    WriteCall(
        "lock_database",
        Permission.LOCK,
        "admin",
        lambda t, a, c: sv.lock_database(
            t.db, a, reason="LPLV", password=PASSWORD, override_reason="a query on the adverse event stays open"
        ),
    ),
    WriteCall(
        "unlock_database",
        Permission.UNLOCK,
        "admin",
        lambda t, a, c: sv.unlock_database(t.db, a, reason="late query", password=PASSWORD),
    ),
    WriteCall(
        "unblind_trial",
        Permission.UNBLIND_TRIAL,
        "unblinded_statistician",
        lambda t, a, c: sv.unblind_trial(t.db, a, reason="final analysis", password=PASSWORD),
    ),
    WriteCall(
        "unlock_account",
        Permission.MANAGE_USERS,
        "admin",
        lambda t, a, c: sv.unlock_account(t.db, a, "monitor", reason="locked out by mistyping"),
    ),
    WriteCall(
        "emergency_unblind",
        Permission.UNBLIND_EMERGENCY,
        "investigator",
        lambda t, a, c: sv.emergency_unblind(t.db, a, c["rand"], reason="SAE management", password=PASSWORD),
    ),
    WriteCall(
        "deactivate_user",
        Permission.MANAGE_USERS,
        "admin",
        lambda t, a, c: sv.deactivate_user(t.db, a, "investigator2", reason="left the site"),
    ),
    WriteCall(
        "set_password",
        Permission.MANAGE_USERS,
        "admin",
        lambda t, a, c: sv.set_password(t.db, a, "investigator2", new_password="a-new-long-password"),
    ),
]


#: Every read service, ready to run after ``prepare`` (the blinding test runs each as every blinded role).
READ_CALLS: dict[str, Callable[[Trial, Actor, dict[str, Any]], object]] = {
    "list_participants": lambda t, a, c: sv.list_participants(t.db, a),
    "participant_detail": lambda t, a, c: sv.participant_detail(t.db, a, c["rand"]),
    "visit_data": lambda t, a, c: sv.visit_data(t.db, a, c["rand"]),
    "participant_arm": lambda t, a, c: sv.participant_arm(t.db, a, c["rand"]),
    "allocation_list": lambda t, a, c: sv.allocation_list(t.db, a),
    "list_unblindings": lambda t, a, c: sv.list_unblindings(t.db, a),
    "list_queries": lambda t, a, c: sv.list_queries(t.db, a),
    "audit_log": lambda t, a, c: sv.audit_log(t.db, a),
    "audit_log_participant": lambda t, a, c: sv.audit_log(t.db, a, participant=c["rand"]),
    "list_adverse_events": lambda t, a, c: sv.list_adverse_events(t.db, a),
    "list_intercurrent_events": lambda t, a, c: sv.list_intercurrent_events(t.db, a),
    "list_lab_samples": lambda t, a, c: sv.list_lab_samples(t.db, a),
    "list_doses": lambda t, a, c: sv.list_doses(t.db, a),
    "list_product_lots": lambda t, a, c: sv.list_product_lots(t.db, a),
    "list_users": lambda t, a, c: sv.list_users(t.db, a),
    "list_sites": lambda t, a, c: sv.list_sites(t.db, a),
    "list_signatures": lambda t, a, c: sv.list_signatures(t.db, a),
    "signature_status": lambda t, a, c: sv.signature_status(t.db, a, c["rand"]),
}

#: Public names of ``alstrial.services`` that are neither a write nor a read service.
NOT_SERVICES = {"authenticate", "setup_trial", "transaction", "unit_of_work", "verify_audit_trail"}


def read_service_names() -> set[str]:
    """The service function behind each READ_CALLS entry (several entries may call one service)."""
    return {name.removesuffix("_participant") if name.startswith("audit_log") else name for name in READ_CALLS}

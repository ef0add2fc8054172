"""Capture services: every use case of the trial, each one audited transaction checking the caller's role.

Web pages, the simulator, CSV imports and the CLI all call these functions with a
:class:`CaptureDB` and an :class:`Actor`; none of them writes the database directly.
"""

from alstrial.services.actor import Actor
from alstrial.services.audit import audit_log, verify_audit_trail
from alstrial.services.context import CaptureDB, transaction, unit_of_work
from alstrial.services.corrections import (
    Correction,
    answer_query,
    close_query,
    correct_value,
    list_queries,
    open_query,
)
from alstrial.services.disposition import discontinue_treatment, withdraw_participant
from alstrial.services.exceptions import (
    AllocationConcealed,
    AllocationListExhausted,
    AllocationUnavailable,
    AuthenticationFailed,
    CaptureError,
    ChainOfIdentityMismatch,
    Conflict,
    DatabaseBusy,
    DatabaseLocked,
    InvalidState,
    NotEligible,
    NotFound,
    PermissionDenied,
    StaleVersion,
    ValidationFailed,
    VisitOutOfWindow,
)
from alstrial.services.labs import (
    LabResultInput,
    LabResultView,
    record_csf_sample,
    record_lab_result,
    record_lab_results,
)
from alstrial.services.lock import emergency_unblind, list_unblindings, lock_database, unblind_trial, unlock_database
from alstrial.services.product import administer_dose, manufacture_lot, record_aspiration, release_lot
from alstrial.services.randomization import allocation_list, participant_arm, randomize_participant
from alstrial.services.reads import list_participants, participant_detail, visit_data
from alstrial.services.records import (
    list_adverse_events,
    list_doses,
    list_intercurrent_events,
    list_lab_samples,
    list_product_lots,
)
from alstrial.services.runin import RunInResult, complete_runin
from alstrial.services.safety import record_adverse_event, record_intercurrent_event
from alstrial.services.screening import enrol_participant, screen_participant
from alstrial.services.setup import setup_trial
from alstrial.services.signatures import list_signatures, sign_casebook, signature_status
from alstrial.services.users import (
    add_site,
    add_user,
    authenticate,
    deactivate_user,
    list_sites,
    list_users,
    set_password,
    unlock_account,
)
from alstrial.services.visits import record_alsfrs, record_visit, record_vital_capacity, record_weight

__all__ = [
    "Actor",
    "AllocationConcealed",
    "AllocationListExhausted",
    "AllocationUnavailable",
    "AuthenticationFailed",
    "CaptureDB",
    "CaptureError",
    "ChainOfIdentityMismatch",
    "Conflict",
    "Correction",
    "DatabaseBusy",
    "DatabaseLocked",
    "InvalidState",
    "LabResultInput",
    "LabResultView",
    "NotEligible",
    "NotFound",
    "PermissionDenied",
    "RunInResult",
    "StaleVersion",
    "ValidationFailed",
    "VisitOutOfWindow",
    "add_site",
    "add_user",
    "administer_dose",
    "allocation_list",
    "answer_query",
    "audit_log",
    "authenticate",
    "close_query",
    "complete_runin",
    "correct_value",
    "deactivate_user",
    "discontinue_treatment",
    "emergency_unblind",
    "enrol_participant",
    "list_adverse_events",
    "list_doses",
    "list_intercurrent_events",
    "list_lab_samples",
    "list_participants",
    "list_product_lots",
    "list_queries",
    "list_signatures",
    "list_sites",
    "list_unblindings",
    "list_users",
    "lock_database",
    "manufacture_lot",
    "open_query",
    "participant_arm",
    "participant_detail",
    "randomize_participant",
    "record_adverse_event",
    "record_alsfrs",
    "record_aspiration",
    "record_csf_sample",
    "record_intercurrent_event",
    "record_lab_result",
    "record_lab_results",
    "record_visit",
    "record_vital_capacity",
    "record_weight",
    "release_lot",
    "screen_participant",
    "set_password",
    "setup_trial",
    "sign_casebook",
    "signature_status",
    "transaction",
    "unblind_trial",
    "unit_of_work",
    "unlock_account",
    "unlock_database",
    "verify_audit_trail",
    "visit_data",
    "withdraw_participant",
]

"""The one role policy: what each role may do and see. Every service asks here, nowhere else.

Blinding: only ``UNBLINDED_ROLES`` ever see an arm before full unblinding (after the database is
locked and unblinded, every role may). Site roles see only their own site's participants.
``monitor`` is read-only. Permissions in ``DATA_WRITES`` are refused while the database is locked
(signing a casebook among them: the casebooks are signed before the lock).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, get_args

from alstrial.services.actor import Actor
from alstrial.services.exceptions import PermissionDenied

Role = Literal[
    "admin",
    "data_manager",
    "investigator",
    "site_coordinator",
    "lab_technician",
    "pharmacist",
    "statistician",
    "unblinded_statistician",
    "dsmb_member",
    "monitor",
]
ROLES: tuple[str, ...] = get_args(Role)
#: Roles tied to one site: they must have a site and see only its participants.
SITE_ROLES = frozenset({"investigator", "site_coordinator", "lab_technician"})
#: Roles that may see treatment arms while the trial is blinded.
UNBLINDED_ROLES = frozenset({"pharmacist", "unblinded_statistician", "dsmb_member"})
BLINDED_ROLES = tuple(r for r in ROLES if r not in UNBLINDED_ROLES)


class Permission(StrEnum):
    SETUP_TRIAL = "setup_trial"
    MANAGE_SITES = "manage_sites"
    MANAGE_USERS = "manage_users"
    SCREEN = "screen"
    ENROL = "enrol"
    RANDOMIZE = "randomize"
    RECORD_VISIT = "record_visit"
    RECORD_ASSESSMENT = "record_assessment"
    RECORD_LAB = "record_lab"
    RECORD_ASPIRATION = "record_aspiration"
    MANUFACTURE = "manufacture"
    ADMINISTER = "administer"
    RECORD_SAFETY = "record_safety"
    RECORD_DISPOSITION = "record_disposition"
    CORRECT = "correct"
    OPEN_QUERY = "open_query"
    ANSWER_QUERY = "answer_query"
    CLOSE_QUERY = "close_query"
    SIGN_CASEBOOK = "sign_casebook"
    LOCK = "lock"
    UNLOCK = "unlock"
    UNBLIND_TRIAL = "unblind_trial"
    UNBLIND_EMERGENCY = "unblind_emergency"
    READ = "read"
    READ_AUDIT = "read_audit"


P = Permission
_SITE_DATA = {P.SCREEN, P.ENROL, P.RANDOMIZE, P.RECORD_VISIT, P.RECORD_ASSESSMENT, P.RECORD_SAFETY}
#: site roles read the audit trail (field history) of their own site's participants only (``audit_log``)
_SITE_READ = {P.READ, P.READ_AUDIT}
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "admin": frozenset(
        {P.SETUP_TRIAL, P.MANAGE_SITES, P.MANAGE_USERS, P.LOCK, P.UNLOCK, P.UNBLIND_TRIAL, P.READ, P.READ_AUDIT}
    ),
    "data_manager": frozenset({P.CORRECT, P.OPEN_QUERY, P.CLOSE_QUERY, P.LOCK, P.READ, P.READ_AUDIT}),
    "investigator": frozenset(
        _SITE_DATA
        | {
            P.RECORD_LAB,
            P.RECORD_ASPIRATION,
            P.ADMINISTER,
            P.RECORD_DISPOSITION,
            P.CORRECT,
            P.ANSWER_QUERY,
            P.UNBLIND_EMERGENCY,
            P.SIGN_CASEBOOK,
        }
        | _SITE_READ
    ),
    "site_coordinator": frozenset(_SITE_DATA | {P.CORRECT, P.ANSWER_QUERY} | _SITE_READ),
    "lab_technician": frozenset({P.RECORD_LAB, P.CORRECT, P.ANSWER_QUERY} | _SITE_READ),
    "pharmacist": frozenset({P.MANUFACTURE, P.READ}),
    "statistician": frozenset({P.READ}),
    "unblinded_statistician": frozenset({P.UNBLIND_TRIAL, P.READ}),
    "dsmb_member": frozenset({P.READ}),
    "monitor": frozenset({P.READ, P.READ_AUDIT}),
}

#: Writes of trial data, refused while the database is locked.
DATA_WRITES = frozenset(
    {
        P.SCREEN,
        P.ENROL,
        P.RANDOMIZE,
        P.RECORD_VISIT,
        P.RECORD_ASSESSMENT,
        P.RECORD_LAB,
        P.RECORD_ASPIRATION,
        P.MANUFACTURE,
        P.ADMINISTER,
        P.RECORD_SAFETY,
        P.RECORD_DISPOSITION,
        P.CORRECT,
        P.OPEN_QUERY,
        P.ANSWER_QUERY,
        P.CLOSE_QUERY,
        P.SIGN_CASEBOOK,
    }
)


#: Permissions that only read: their services run in read transactions and write nothing.
READS = frozenset({P.READ, P.READ_AUDIT})
#: Everything else writes (data, users, lock state, audit records).
WRITES = frozenset(set(Permission) - READS)


def can(role: str, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS.get(role, frozenset())


def require(actor: Actor, permission: Permission) -> None:
    """Raise :class:`PermissionDenied` unless the actor's role holds the permission."""
    if not can(actor.role, permission):
        allowed = sorted(r for r in ROLES if can(r, permission))
        raise PermissionDenied(
            f"{actor} may not {permission.value.replace('_', ' ')}; allowed roles: {', '.join(allowed)}"
        )


def is_site_bound(role: str) -> bool:
    return role in SITE_ROLES


def sees_arm(role: str, *, trial_unblinded: bool) -> bool:
    """Whether this role may see treatment arms now."""
    return trial_unblinded or role in UNBLINDED_ROLES

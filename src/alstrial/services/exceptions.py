"""Domain errors raised by the capture services (the web layer maps each to one HTTP status).

    AlstrialError
    ├── ValidationFailed               bad input; lists every problem (alstrial.errors)
    ├── RandomizationError
    │   └── AllocationListExhausted    a stratum's concealed list is used up (domain.randomization)
    └── CaptureError
        ├── AuthenticationFailed       unknown user, wrong password or inactive account
        ├── PermissionDenied           the role may not do this, or the record is another site's
        ├── NotFound                   no such participant, visit, sample, lot, query ...
        ├── InvalidState               the step is out of order (already enrolled, not randomized ...)
        │   ├── DatabaseLocked         the database is locked: no data writes
        │   └── NotEligible            the participant failed eligibility
        ├── AllocationConcealed        a blinded role asked for an arm
        ├── VisitOutOfWindow           a visit outside its window without a reason
        └── ChainOfIdentityMismatch    product and participant identifiers differ (the refusal is audited)

Every service raises before committing, so a failed call leaves the database as it was —
except that a :class:`ChainOfIdentityMismatch` refusal is itself written to the audit trail.
"""

from __future__ import annotations

from alstrial.domain.randomization.errors import AllocationListExhausted
from alstrial.errors import AlstrialError, Problem, ValidationFailed

__all__ = [
    "AllocationConcealed",
    "AllocationListExhausted",
    "AuthenticationFailed",
    "CaptureError",
    "ChainOfIdentityMismatch",
    "DatabaseLocked",
    "InvalidState",
    "NotEligible",
    "NotFound",
    "PermissionDenied",
    "Problem",
    "ValidationFailed",
    "VisitOutOfWindow",
]


class CaptureError(AlstrialError):
    """Base class of the capture services' domain errors."""


class AuthenticationFailed(CaptureError):
    """The user name or password is wrong, or the account is inactive (never says which)."""


class PermissionDenied(CaptureError):
    """The actor's role may not perform the action, or the record belongs to another site."""


class NotFound(CaptureError):
    """A referenced record does not exist."""


class InvalidState(CaptureError):
    """The action does not fit the record's current state (steps out of order)."""


class DatabaseLocked(InvalidState):
    """The database is locked; data writes are refused until an admin unlocks it with a reason."""


class NotEligible(InvalidState):
    """The participant failed eligibility; ``failed`` lists the failed criterion ids."""

    def __init__(self, message: str, failed: list[str]) -> None:
        self.failed = list(failed)
        super().__init__(message)


class AllocationConcealed(CaptureError):
    """A blinded role asked for a treatment arm."""


class VisitOutOfWindow(CaptureError):
    """A visit date outside the protocol window, given without the reason that would accept it."""


class ChainOfIdentityMismatch(CaptureError):
    """The product's participant identifier does not match the participant's: the dose is blocked.

    ``details`` holds the identifiers compared; the refusal is audited in its own transaction.
    """

    def __init__(self, message: str, *, participant_code: str, details: dict[str, object]) -> None:
        self.participant_code = participant_code
        self.details = dict(details)
        super().__init__(message)

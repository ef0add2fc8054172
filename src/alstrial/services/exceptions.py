"""Domain errors raised by the capture services: the only errors a caller ever sees.

    AlstrialError                       (alstrial.errors; ``kind`` tells a client which status to use)
    ├── ValidationFailed               invalid      bad input; lists every problem
    └── CaptureError
        ├── AuthenticationFailed       unauthenticated  wrong name or password, locked or inactive account
        ├── PermissionDenied           forbidden    the role may not do this
        ├── NotFound                   not_found    no such record *that this user may see* (another
        │                                           site's participant looks exactly like a missing one)
        ├── InvalidState               conflict     the step is out of order (already enrolled ...)
        │   ├── DatabaseLocked         locked       the database is locked: no data writes
        │   ├── NotEligible            conflict     the participant failed eligibility
        │   ├── AllocationUnavailable  conflict     a stratum's concealed list is used up
        │   └── Conflict               conflict     someone else wrote the same record first
        │       └── StaleVersion       conflict     the record changed since it was read (who, when)
        ├── AllocationConcealed        forbidden    a blinded role asked for an arm
        ├── VisitOutOfWindow           invalid      a visit outside its window without a reason
        ├── ChainOfIdentityMismatch    invalid      product and participant identifiers differ (audited)
        └── DatabaseBusy               busy         the database was busy or unreachable: try again

No SQLAlchemy or driver exception leaves a public service: :func:`services.context.transaction`
turns them into :class:`Conflict` or :class:`DatabaseBusy`. Every service raises before
committing, so a failed call leaves the database as it was — except that a
:class:`ChainOfIdentityMismatch` refusal and a failed sign-in are written to the audit trail.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from alstrial.domain.randomization.errors import AllocationListExhausted
from alstrial.errors import AlstrialError, ErrorKind, Problem, ValidationFailed

__all__ = [
    "AllocationConcealed",
    "AllocationListExhausted",
    "AllocationUnavailable",
    "AuthenticationFailed",
    "CaptureError",
    "ChainOfIdentityMismatch",
    "Conflict",
    "DatabaseBusy",
    "DatabaseLocked",
    "InvalidState",
    "NotEligible",
    "NotFound",
    "PermissionDenied",
    "Problem",
    "StaleVersion",
    "ValidationFailed",
    "VisitOutOfWindow",
]


class CaptureError(AlstrialError):
    """Base class of the capture services' domain errors."""


class AuthenticationFailed(CaptureError):
    """The user name or password is wrong, or the account is locked or inactive (never says which)."""

    kind: ClassVar[ErrorKind] = "unauthenticated"


class PermissionDenied(CaptureError):
    """The actor's role may not perform the action."""

    kind: ClassVar[ErrorKind] = "forbidden"


class NotFound(CaptureError):
    """A referenced record does not exist, or belongs to a site the caller may not see."""

    kind: ClassVar[ErrorKind] = "not_found"


class InvalidState(CaptureError):
    """The action does not fit the record's current state (steps out of order)."""

    kind: ClassVar[ErrorKind] = "conflict"


class DatabaseLocked(InvalidState):
    """The database is locked; data writes are refused until an admin unlocks it with a reason."""

    kind: ClassVar[ErrorKind] = "locked"


class NotEligible(InvalidState):
    """The participant failed eligibility; ``failed`` lists the failed criterion ids."""

    def __init__(self, message: str, failed: list[str]) -> None:
        self.failed = list(failed)
        super().__init__(message)


class AllocationUnavailable(InvalidState):
    """The concealed allocation list of the participant's stratum has no free entry left.

    The list is never extended silently: the unblinded statistician must generate a longer one.
    The domain's :class:`AllocationListExhausted` is kept as ``__cause__``.
    """


class Conflict(InvalidState):
    """Another user wrote the same record first (a duplicate entry, or a concurrent write)."""


class StaleVersion(Conflict):
    """A change named a version of a record that is no longer current.

    ``current_version``, ``changed_by`` and ``changed_at`` say what the caller should look at
    before trying again; nothing was written.
    """

    def __init__(
        self,
        message: str,
        *,
        current_version: int,
        changed_by: str | None = None,
        changed_at: datetime | None = None,
    ) -> None:
        self.current_version = current_version
        self.changed_by = changed_by
        self.changed_at = changed_at
        super().__init__(message)


class AllocationConcealed(CaptureError):
    """A blinded role asked for a treatment arm."""

    kind: ClassVar[ErrorKind] = "forbidden"


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


class DatabaseBusy(CaptureError):
    """The database was busy or could not be reached; nothing was written, so the call may be retried."""

    kind: ClassVar[ErrorKind] = "busy"

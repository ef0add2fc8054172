"""The root of alstrial's exception tree.

AlstrialError
├── ProtocolError          a protocol file is invalid (all problems listed)
├── ValidationFailed       input rows/values break a rule (all problems listed)
└── (layers add their own subclasses: domain errors in services, stats errors, ...)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

#: What kind of failure an error is, so that a client (web layer, CLI) can pick a status or an exit
#: code without knowing every class: ``invalid`` bad input, ``not_found``, ``forbidden``,
#: ``unauthenticated``, ``conflict`` (out of order, duplicate, stale version), ``locked`` (database
#: lock), ``busy`` (the database could not be reached or was busy: try again).
ErrorKind = Literal["invalid", "not_found", "forbidden", "unauthenticated", "conflict", "locked", "busy"]


class AlstrialError(Exception):
    """Base class for every error alstrial raises on purpose; ``kind`` classifies it for clients."""

    kind: ClassVar[ErrorKind] = "invalid"


@dataclass(frozen=True)
class Problem:
    """One specific problem with an input: where, what value, and why it is wrong."""

    where: str
    value: object
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: value {self.value!r} — {self.reason}"


class ValidationFailed(AlstrialError):
    """Input broke one or more rules; ``problems`` lists every one, not only the first."""

    def __init__(self, problems: list[Problem], *, context: str = "") -> None:
        self.problems = list(problems)
        self.context = context
        head = f"{context}: " if context else ""
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{head}{len(self.problems)} problem(s)\n{lines}")

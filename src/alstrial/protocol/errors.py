"""Errors raised while reading a protocol file."""

from __future__ import annotations

from alstrial.errors import AlstrialError, Problem


class ProtocolError(AlstrialError):
    """A protocol file is unreadable or invalid; ``problems`` lists every problem found.

    Each problem names the file, the field path (``visits[3].window_after``), the bad value
    and what is allowed, so a trial manager can fix the whole file in one pass.
    """

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  {source}: {p}" for p in self.problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s) in the protocol\n{lines}")

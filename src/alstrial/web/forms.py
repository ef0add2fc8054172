"""Turning posted form text into typed service arguments, collecting every problem at once."""

from __future__ import annotations

from datetime import UTC, date, datetime

from starlette.datastructures import FormData

from alstrial.errors import Problem, ValidationFailed

#: the largest whole number both databases store (64-bit)
MAX_INT = 2**63 - 1


class FormReader:
    """Reads fields of one form; each bad field adds a :class:`Problem`; :meth:`done` raises them all."""

    def __init__(self, form: FormData, context: str) -> None:
        self.form, self.context = form, context
        self.problems: list[Problem] = []

    def text(self, name: str, *, required: bool = True, max_length: int = 4000) -> str | None:
        raw = self.form.get(name)
        value = raw.strip() if isinstance(raw, str) else ""
        if not value:
            if required:
                self.problems.append(Problem(name, "", "required"))
            return None
        if len(value) > max_length:
            self.problems.append(Problem(name, value[:40] + "…", f"at most {max_length} characters"))
            return None
        return value

    def date(self, name: str, *, required: bool = True) -> date | None:
        value = self.text(name, required=required, max_length=10)
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.problems.append(Problem(name, value, "expected a date YYYY-MM-DD"))
            return None

    def datetime(self, name: str) -> datetime | None:
        """A ``datetime-local`` field, read as UTC (the form says so)."""
        value = self.text(name, max_length=32)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            self.problems.append(Problem(name, value, "expected a date and time YYYY-MM-DDTHH:MM (UTC)"))
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    def integer(self, name: str, *, required: bool = True) -> int | None:
        value = self.text(name, required=required, max_length=12)
        if value is None:
            return None
        try:
            number = int(value)
        except ValueError:
            self.problems.append(Problem(name, value, "expected a whole number"))
            return None
        if abs(number) > MAX_INT:
            self.problems.append(Problem(name, value, "too large"))
            return None
        return number

    def number(self, name: str, *, required: bool = True) -> float | None:
        value = self.text(name, required=required, max_length=32)
        if value is None:
            return None
        try:
            return float(value)
        except ValueError:
            self.problems.append(Problem(name, value, "expected a number"))
            return None

    def flag(self, name: str) -> bool:
        return self.form.get(name) in ("on", "true", "1", "yes")

    def done(self) -> None:
        if self.problems:
            raise ValidationFailed(self.problems, context=self.context)

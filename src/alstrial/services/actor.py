"""Who is calling a service: user, role and (for site roles) site."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Actor:
    """An authenticated user as the services see them; passed to every service call."""

    user_id: int
    username: str
    role: str
    site_id: int | None = None
    site_code: str | None = None

    def __str__(self) -> str:
        where = f" at {self.site_code}" if self.site_code else ""
        return f"{self.username} ({self.role}{where})"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

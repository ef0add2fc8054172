"""The web server's settings, read from ``ALSTRIAL_*`` environment variables (pydantic-settings).

A secret key signs session cookies and API tokens. The built-in default is for development only:
outside ``ALSTRIAL_MODE=development`` it is refused, as is any key shorter than 32 characters, so a
server cannot go live with a key an attacker could know.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from alstrial.errors import Problem, ValidationFailed

DEFAULT_SECRET = "development-only-secret-change-me-before-going-live"
MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    """Everything the web app needs to start; every field can come from ``ALSTRIAL_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="ALSTRIAL_", extra="ignore")

    db: str = Field(default="alstrial.db", description="capture database: a SQLite path or a PostgreSQL URL")
    mode: Literal["development", "production"] = "production"
    secret_key: str = Field(default=DEFAULT_SECRET, repr=False)
    #: idle sessions end after this many seconds (each request renews the cookie)
    session_seconds: int = Field(default=8 * 3600, ge=60)
    #: API bearer tokens expire after this many seconds
    token_seconds: int = Field(default=3600, ge=60)
    #: force the Secure flag on cookies (otherwise set when the request came over HTTPS)
    https_only: bool = False
    #: failed sign-ins allowed per client address in ``throttle_seconds`` before 429 (account lockout is separate)
    throttle_failures: int = Field(default=20, ge=1)
    throttle_seconds: int = Field(default=300, ge=1)
    #: threads per server process for the synchronous routes (each request holds one while the services run)
    threads: int = Field(default=40, ge=1, le=256)

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.mode == "development":
            return self
        problems = []
        if self.secret_key == DEFAULT_SECRET:
            problems.append(
                Problem("ALSTRIAL_SECRET_KEY", "(the built-in default)", "set a random secret outside development mode")
            )
        elif len(self.secret_key) < MIN_SECRET_LENGTH:
            problems.append(
                Problem("ALSTRIAL_SECRET_KEY", f"({len(self.secret_key)} characters)", f"use ≥ {MIN_SECRET_LENGTH}")
            )
        if problems:
            raise ValidationFailed(problems, context="web settings")
        return self

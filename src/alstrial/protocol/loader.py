"""Read a protocol TOML file into a validated :class:`Protocol`, reporting every problem at once."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from alstrial.errors import Problem
from alstrial.protocol.crossref import check_references
from alstrial.protocol.errors import ProtocolError
from alstrial.protocol.models import Protocol

DEFAULT_PROTOCOL = "msc_als_phase3.toml"


def default_protocol_path() -> Path:
    """Path of the shipped seed trial (MSC vs placebo, phase 3)."""
    return Path(str(resources.files("alstrial.protocol") / "defaults" / DEFAULT_PROTOCOL))


def load_protocol(path: str | Path | None = None) -> Protocol:
    """Load and validate a protocol file; ``None`` loads the shipped seed trial."""
    source = Path(path) if path is not None else default_protocol_path()
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProtocolError(str(source), [Problem("file", str(source), "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProtocolError(str(source), [Problem("file", str(source), f"cannot be read: {exc}")]) from None
    return parse_protocol(text, source=str(source))


def parse_protocol(text: str, *, source: str = "<string>") -> Protocol:
    """Validate protocol TOML text; raise :class:`ProtocolError` listing every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(source, [Problem("TOML syntax", None, str(exc))]) from None
    return protocol_from_mapping(data, source=source)


def protocol_from_mapping(data: dict[str, Any], *, source: str = "<mapping>") -> Protocol:
    """Validate an already-parsed mapping (used by tests and by the web designer later)."""
    problems: list[Problem] = []
    protocol: Protocol | None = None
    try:
        protocol = Protocol.model_validate(data)
    except ValidationError as exc:
        problems += [_problem_from_pydantic(err) for err in exc.errors(include_url=False)]
    problems += check_references(data)
    if problems:
        raise ProtocolError(source, problems)
    assert protocol is not None
    return protocol


def _problem_from_pydantic(err: Any) -> Problem:
    path = ""
    for part in err["loc"]:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    reason = err["msg"]
    if err["type"] == "extra_forbidden":
        reason = "unknown field (check the spelling; extra fields are not allowed)"
    elif err["type"] == "missing":
        reason = "required field is missing"
    value = err.get("input") if err["type"] != "missing" else None
    if isinstance(value, dict):
        value = "{...}"
    return Problem(path or "(top level)", value, reason)

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


#: deeper than any protocol needs; beyond it the parsers would exhaust Python's recursion limit
MAX_NESTING = 40
_TOO_DEEP = f"nested more than {MAX_NESTING} levels deep (arrays and tables inside each other)"


def parse_protocol(text: str, *, source: str = "<string>") -> Protocol:
    """Validate protocol TOML text; raise :class:`ProtocolError` listing every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(source, [Problem("TOML syntax", None, str(exc))]) from None
    except RecursionError:
        raise ProtocolError(source, [Problem("TOML syntax", None, _TOO_DEEP)]) from None
    return protocol_from_mapping(data, source=source)


def protocol_from_mapping(data: dict[str, Any], *, source: str = "<mapping>") -> Protocol:
    """Validate an already-parsed mapping (used by tests and by the web designer later).

    Field errors come from pydantic; the cross-reference checks then run on a copy of the mapping
    without the values pydantic rejected, so they only ever see well-typed fields.
    """
    deep = _too_deep(data, MAX_NESTING)
    if deep is not None:
        raise ProtocolError(source, [Problem(deep, None, _TOO_DEEP)])
    problems: list[Problem] = []
    protocol: Protocol | None = None
    accepted: Any = data
    try:
        protocol = Protocol.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        problems += [_problem_from_pydantic(err) for err in errors]
        accepted = _without_rejected(data, errors)
    problems += check_references(accepted)
    if problems:
        raise ProtocolError(source, problems)
    assert protocol is not None
    return protocol


def _too_deep(value: object, limit: int, where: str = "") -> str | None:
    """The path of the first value nested deeper than ``limit``, iteratively (no recursion to exhaust)."""
    stack: list[tuple[object, str, int]] = [(value, where, 0)]
    while stack:
        node, path, depth = stack.pop()
        if depth > limit:
            return path or "(top level)"
        if isinstance(node, dict):
            stack.extend((v, f"{path}.{k}" if path else str(k), depth + 1) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, f"{path}[{i}]", depth + 1) for i, v in enumerate(node))
    return None


# model-level checks (a validator on a whole entry) reject the entry's combination, not its types
_ENTRY_ERRORS = {"value_error", "assertion_error", "missing"}


def _without_rejected(data: dict[str, Any], errors: list[Any]) -> dict[str, Any]:
    """A copy of ``data`` with every value pydantic rejected removed (its error is already reported).

    A rejected list entry becomes ``None`` (so the other entries keep their index); a rejected
    field is deleted. Missing fields and whole-entry checks remove nothing. Only the containers
    on the way to a removed value are copied; ``data`` itself is left as it was.
    """
    out = dict(data)
    copied = {id(out)}
    for err in errors:
        parent: Any = None
        key: Any = None
        node: Any = out
        for part in err["loc"]:  # pydantic adds union and validator tags: follow the data as far as it goes
            in_dict = isinstance(node, dict) and part in node
            if not (in_dict or (isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node))):
                break
            child = node[part]
            if isinstance(child, dict | list) and id(child) not in copied:
                child = dict(child) if isinstance(child, dict) else list(child)
                copied.add(id(child))
                node[part] = child
            parent, key, node = node, part, child
        if parent is None or err["type"] == "missing" or (err["type"] in _ENTRY_ERRORS and isinstance(node, dict)):
            continue
        if isinstance(parent, list):
            parent[key] = None
        else:
            del parent[key]
    return out


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

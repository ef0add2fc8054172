"""Data flows one way: each layer imports only the layers below it (see the table in README's Layout)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "alstrial"

#: layer -> the alstrial layers it must never import (top-level names under ``alstrial.``)
FORBIDDEN: dict[str, set[str]] = {
    "protocol": {
        "instruments",
        "domain",
        "store",
        "services",
        "web",
        "simulate",
        "analysis",
        "stats",
        "design",
        "report",
        "interop",
        "workflows",
        "commands",
        "cli",
    },
    "stats": {
        "protocol",
        "instruments",
        "domain",
        "store",
        "services",
        "web",
        "simulate",
        "analysis",
        "design",
        "report",
        "interop",
        "workflows",
        "commands",
        "cli",
    },
    "instruments": {
        "domain",
        "store",
        "services",
        "web",
        "simulate",
        "analysis",
        "design",
        "report",
        "interop",
        "workflows",
        "commands",
        "cli",
    },
    "domain": {
        "store",
        "services",
        "web",
        "simulate",
        "analysis",
        "design",
        "report",
        "interop",
        "workflows",
        "commands",
        "cli",
    },
    "store": {"services", "web", "simulate", "analysis", "design", "report", "interop", "workflows", "commands", "cli"},
    "services": {"web", "simulate", "analysis", "design", "report", "interop", "workflows", "commands", "cli"},
    "simulate": {"store", "web", "analysis", "design", "report", "interop", "workflows", "commands", "cli"},
    "analysis": {"services", "web", "simulate", "design", "report", "interop", "workflows", "commands", "cli"},
    "report": {"store", "services", "web", "simulate", "design", "interop", "workflows", "commands", "cli"},
    "design": {"web", "report", "interop", "workflows", "commands", "cli"},
    "interop": {"web", "simulate", "design", "workflows", "commands", "cli"},
    "workflows": {"web", "commands", "cli"},
    "web": {"simulate", "design", "workflows", "commands", "cli"},
    "commands": set(),  # the CLI sits on top and may import anything
}


def _imported_layers(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module]
        elif isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        else:
            continue
        for m in modules:
            parts = m.split(".")
            if parts[0] == "alstrial" and len(parts) > 1:
                names.add(parts[1])
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_only_layers_below(layer: str) -> None:
    folder = PACKAGE / layer
    if not folder.exists():
        pytest.fail(f"layer folder {folder} is missing")
    offences = [
        f"{path.relative_to(PACKAGE)} imports alstrial.{name}"
        for path in sorted(folder.rglob("*.py"))
        for name in sorted(_imported_layers(path) & FORBIDDEN[layer])
    ]
    assert offences == []


def test_every_layer_folder_is_covered() -> None:
    """A new top-level folder must be given its import rule here."""
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders - set(FORBIDDEN) == set()

"""The command line imports a command's module only when that command runs."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer.main

from alstrial import cli

HEAVY = ("pandas", "scipy", "sqlalchemy", "statsmodels", "lifelines", "matplotlib", "fastapi", "alstrial.simulate")


def _imported(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_help_imports_no_engine_or_database() -> None:
    code = (
        "import sys\nfrom alstrial.cli import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('\\n'.join(sys.modules), file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "stats" in out.stdout and "simulate" in out.stdout  # the help lists the lazy commands
    modules = set(out.stderr.split())
    assert not {m for m in modules if m.split(".")[0] in HEAVY or m.startswith("alstrial.simulate")}
    assert not {m for m in modules if m.startswith("alstrial.commands.")}


def test_stats_mmrm_command_imports_only_what_it_uses() -> None:
    code = (
        "import sys\nfrom typer.testing import CliRunner\nfrom alstrial.cli import app\n"
        "CliRunner().invoke(app, ['stats', 'mmrm', '--help'])\nprint('\\n'.join(sys.modules))"
    )
    modules = _imported(code)
    assert "alstrial.commands.stats_mmrm" in modules
    for unused in ("sqlalchemy", "statsmodels", "lifelines", "matplotlib", "fastapi", "alstrial.simulate"):
        assert unused not in modules
    assert "alstrial.commands.capture" not in modules


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_lazy_help_line_is_the_commands_own(name: str) -> None:
    command = cli.load_command(name, cli.COMMANDS[name])
    assert command.name == name
    assert cli.COMMANDS[name].help == command.get_short_help_str(200)


def test_every_lazy_command_is_reachable_through_the_app() -> None:
    group = typer.main.get_command(cli.app)
    assert list(group.list_commands(None)) == [*cli.COMMANDS, "version"]  # type: ignore[attr-defined, arg-type]
    assert "deactivate" in group.commands["user"].commands  # type: ignore[attr-defined]

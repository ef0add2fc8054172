"""The command line imports a command's module only when that command runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


# What a whole `alstrial stats mmrm|cafs` process on a plain CSV file must not import: pandas (a
# third of the run time; see alstrial.stats.table_csv), the database, the web server, the
# simulator, the engines of other commands, pydantic (Typer's converter: see alstrial.cli_coerce),
# scipy.linalg (see alstrial.stats.mmrm.threads) and rich (Typer's help and error formatting).
NOT_FOR_STATS = (
    "pandas",
    "pydantic",
    "rich",
    "sqlalchemy",
    "statsmodels",
    "lifelines",
    "matplotlib",
    "fastapi",
    "scipy.linalg",
    "scipy.stats",
    "scipy.optimize",
    "alstrial.simulate",
    "alstrial.store",
    "alstrial.services",
)
RUN = (
    "import json, runpy, sys\nsys.argv = ['alstrial', *json.loads(sys.argv[1])]\n"
    "try:\n    runpy.run_module('alstrial', run_name='__main__')\nexcept SystemExit as exc:\n"
    "    assert not exc.code, exc.code\n"
    "print(json.dumps(sorted(sys.modules)), file=sys.stderr)"
)


def _run_command(args: list[str]) -> tuple[str, set[str]]:
    """Run ``alstrial ARGS`` as a whole process, as the console script does; its output and modules."""
    out = subprocess.run([sys.executable, "-c", RUN, json.dumps(args)], capture_output=True, text=True, check=True)
    return out.stdout, set(json.loads(out.stderr.splitlines()[-1]))


def _unwanted(modules: set[str]) -> set[str]:
    return {m for m in modules for heavy in NOT_FOR_STATS if m == heavy or m.startswith(heavy + ".")}


def test_stats_mmrm_process_imports_only_what_the_fit_uses() -> None:
    fev = Path(__file__).parent / "data" / "fev_data.csv"
    args = ["stats", "mmrm", "--data", str(fev), "--response", "FEV1", "--subject", "USUBJID", "--visit", "AVISIT"]
    stdout, modules = _run_command([*args, "--fixed", "RACE + SEX + ARMCD*AVISIT", "--json"])
    intercept = json.loads(stdout)["coefficients"][0]
    assert intercept["term"] == "(Intercept)" and intercept["estimate"] == pytest.approx(31.1034, abs=1e-3)
    assert {"scipy.special", "alstrial.stats.mmrm.summary"} <= modules  # the fit ran here
    assert not _unwanted(modules)


def test_stats_cafs_process_imports_only_what_the_test_uses(tmp_path: Path) -> None:
    data = tmp_path / "cafs.csv"
    data.write_text("arm,t,d,c\n0,3.0,1,-9\n0,12.0,0,-4\n1,12.0,0,-2\n1,6.5,1,-7\n0,12.0,0,-6\n1,12.0,0,-1\n")
    args = ["stats", "cafs", "--data", str(data), "--arm", "arm", "--time", "t", "--event", "d", "--change", "c"]
    stdout, modules = _run_command([*args, "--permutations", "10", "--seed", "1", "--json"])
    assert json.loads(stdout)["n"] == {"0": 3, "1": 3}
    assert "alstrial.stats.cafs_core" in modules
    assert not _unwanted(modules)


def test_stats_mmrm_process_reads_other_files_with_pandas(tmp_path: Path) -> None:
    """A file the plain reader is unsure of (here a quoted cell holding a comma) goes to pandas."""
    fev = (Path(__file__).parent / "data" / "fev_data.csv").read_text(encoding="utf-8").splitlines()
    fev[1] = fev[1].replace("Black or African American", '"Black, or African American"')
    data = tmp_path / "fev.csv"
    data.write_text("\n".join(fev) + "\n", encoding="utf-8")
    args = ["stats", "mmrm", "--data", str(data), "--response", "FEV1", "--subject", "USUBJID", "--visit", "AVISIT"]
    stdout, modules = _run_command([*args, "--json"])
    assert json.loads(stdout)["n_observations"] == 537
    assert "pandas" in modules

"""The alstrial command line: one Typer app assembling thin command groups.

Each group lives in ``alstrial/commands/<group>.py`` and only parses arguments, calls the
layer that does the work and prints; no business rules live here.

Command modules are imported only when their command runs (``COMMANDS`` maps each name to where
it lives and its one-line help): ``alstrial stats cafs`` must not pay for importing the database,
the web server or the simulator, and ``alstrial --help`` imports none of them. A test checks the
help lines here against the commands' own.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

import typer
from typer import _click as click  # typer vendors click; its commands are this click's
from typer.core import TyperCommand, TyperGroup, TyperOption

from alstrial import __version__
from alstrial.cli_coerce import convert_fast
from alstrial.cli_coerce import install as install_fast_conversion


@dataclass(frozen=True)
class LazyCommand:
    """Where a command lives: ``module:attribute`` of a Typer group, or of a command function."""

    target: str
    help: str
    group: bool = False
    #: extra ``(module:function, name)`` commands mounted into the group when it loads
    extras: tuple[tuple[str, str], ...] = ()


_CMD = "alstrial.commands."
COMMANDS: dict[str, LazyCommand] = {
    "demo": LazyCommand(
        _CMD + "demo:demo", "Run the seed trial end to end: virtual sites → lock → unblind → analysis → report."
    ),
    "simulate": LazyCommand(
        _CMD + "simulate:simulate",
        "Simulate virtual ALS participants (a whole trial cohort) or check the calibration.",
    ),
    "init": LazyCommand(
        _CMD + "capture:init",
        "Create the schema, load the protocol, generate the concealed list and create the first admin.",
    ),
    "import": LazyCommand(
        _CMD + "capture:import_table",
        "Import a CSV table through the services: all rows or none; every bad row is listed (exit 2).",
    ),
    "verify": LazyCommand(
        _CMD + "audit:verify_all",
        "Verify a trial database: the audit chain, every clinical table replayed against it, and the anchor.",
    ),
    "backup": LazyCommand(
        _CMD + "backup:backup",
        "Back up a trial database while it is in use (SQLite online backup; pg_dump on a snapshot).",
    ),
    "restore": LazyCommand(
        _CMD + "backup:restore",
        "Restore a backup into a new SQLite file or an empty PostgreSQL database, then check it.",
    ),
    "lock": LazyCommand(_CMD + "lifecycle:lock", "Lock the database (admin or data manager), signed."),
    "unlock": LazyCommand(
        _CMD + "lifecycle:unlock",
        "Unlock the database (admin), signed, with a reason; impossible once the trial is unblinded.",
    ),
    "unblind": LazyCommand(
        _CMD + "lifecycle:unblind", "Unblind the trial after the lock, or one participant in an emergency; signed."
    ),
    "sign": LazyCommand(
        _CMD + "lifecycle:sign",
        "Sign a participant's casebook, or one visit of it (investigators of the participant's site).",
    ),
    "signatures": LazyCommand(
        _CMD + "lifecycle:signatures",
        "List electronic signatures, each checked: valid, or broken with what changed since signing.",
    ),
    "analyze": LazyCommand(
        _CMD + "analyze:analyze",
        "Run the protocol's analysis plan: every estimand, its sensitivity analyses and the subgroups.",
    ),
    "report": LazyCommand(
        _CMD + "analyze:report",
        "Write the study report for an audience; the DSMB reports work on an unlocked database.",
    ),
    "serve": LazyCommand(
        _CMD + "serve:serve",
        "Serve the capture pages and the /api/v1 JSON API (settings from ALSTRIAL_* variables).",
    ),
    "records": LazyCommand(
        _CMD + "records:list_records",
        "List clinical records with their ids and versions (what `query open` and corrections name).",
    ),
    "protocol": LazyCommand(
        _CMD + "protocol:app", "Show or check a protocol file (the trial design as data).", group=True
    ),
    "alsfrs": LazyCommand(
        _CMD + "alsfrs:app", "Score ALSFRS-R questionnaires (totals, subscores, King's, MiToS, ΔFS).", group=True
    ),
    "randomize": LazyCommand(
        _CMD + "randomize:app",
        "Generate and check concealed randomization lists; randomize participants; read arms (unblinded roles).",
        group=True,
        extras=((_CMD + "records:randomize_participants", "participant"), (_CMD + "records:participant_arms", "arm")),
    ),
    "stats": LazyCommand(_CMD + "stats:app", "Fit the trial's statistical models on a CSV file.", group=True),
    "user": LazyCommand(
        _CMD + "capture:user_app",
        "Manage users of the capture database.",
        group=True,
        extras=((_CMD + "lifecycle:user_deactivate", "deactivate"), (_CMD + "lifecycle:user_password", "password")),
    ),
    "site": LazyCommand(_CMD + "capture:site_app", "Manage recruiting sites.", group=True),
    "audit": LazyCommand(_CMD + "audit:app", "Check and read the audit trail.", group=True),
    "export": LazyCommand(
        _CMD + "export:app", "Export trial data: SDTM, ADaM, REDCap data dictionary, CDISC ODM.", group=True
    ),
    "redcap": LazyCommand(_CMD + "redcap:app", "Import a REDCap data dictionary or REDCap records.", group=True),
    "odm": LazyCommand(_CMD + "redcap:odm_app", "Import CDISC ODM 1.3 study metadata.", group=True),
    "query": LazyCommand(_CMD + "records:query_app", "Raise, answer, close and list data queries.", group=True),
    "design": LazyCommand(
        _CMD + "design:app", "Trial design by simulation: power, type I error, sample size.", group=True
    ),
}


def _resolve(target: str) -> Any:
    module, attr = target.split(":")
    return getattr(importlib.import_module(module), attr)


def load_command(name: str, entry: LazyCommand) -> click.Command:
    """Import the command's module and build its click command (what ``add_typer``/``command`` do)."""
    obj = _resolve(entry.target)
    if entry.group:
        sub: typer.Typer = obj
        known = {c.name for c in sub.registered_commands}
        for target, extra_name in entry.extras:
            if extra_name not in known:
                sub.command(name=extra_name)(_resolve(target))
        command: click.Command = typer.main.get_group(sub)
    else:
        single = typer.Typer()
        single.command(name=name)(obj)
        command = typer.main.get_command(single)
    command.name = name
    return install_fast_conversion(command)


class _Commands(MutableMapping[str, click.Command]):
    """The group's commands: every name is known up front, each command is built on first access."""

    def __init__(self, lazy: dict[str, LazyCommand]) -> None:
        self._lazy = lazy
        self._loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            if name not in self._lazy:
                raise KeyError(name)
            self._loaded[name] = load_command(name, self._lazy[name])
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        self._loaded.pop(name, None)
        self._lazy.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._lazy, *self._loaded]))

    def __len__(self) -> int:
        return len(set(self._lazy) | set(self._loaded))

    def __contains__(self, name: object) -> bool:
        return name in self._lazy or name in self._loaded

    def loaded(self, name: str) -> click.Command | None:
        return self._loaded.get(name)


class LazyGroup(TyperGroup):
    """A Typer group whose subcommands are imported when invoked; the help lists them from ``COMMANDS``."""

    def __init__(self, *, commands: Any = None, **attrs: Any) -> None:
        super().__init__(**attrs)
        lazy = _Commands(dict(COMMANDS))
        for name, command in (commands or {}).items():
            lazy[name] = command
        self.commands = lazy
        self._listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        commands = self.commands
        if self._listing and isinstance(commands, _Commands) and cmd_name in COMMANDS:
            loaded = commands.loaded(cmd_name)
            return loaded or TyperCommand(cmd_name, help=COMMANDS[cmd_name].help)
        return commands.get(cmd_name)

    def get_help_option(self, ctx: click.Context) -> TyperOption | None:
        option = super().get_help_option(ctx)
        if option is not None:
            convert_fast(option)  # no pydantic for a flag nobody passed (see alstrial.cli_coerce)
        return option

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True  # list commands by their help line without importing them
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="alstrial",
    cls=LazyGroup,
    no_args_is_help=True,
    add_completion=False,
    help="alstrial: run a randomized ALS cell-therapy trial from first patient to final report.",
)


@app.callback()
def _root() -> None:
    # a callback keeps ``app`` a group although only ``version`` is registered eagerly
    return None


@app.command()
def version() -> None:
    """Print the alstrial version."""
    typer.echo(__version__)


def main() -> None:  # pragma: no cover - console entry point
    app()


__all__ = ["COMMANDS", "LazyCommand", "LazyGroup", "app", "load_command", "main"]

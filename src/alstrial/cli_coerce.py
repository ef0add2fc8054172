"""Command-line values converted without importing pydantic, where the conversion is trivial.

Typer (0.2x) converts every parameter's value through a pydantic ``TypeAdapter``, built when
the command runs: importing pydantic and building the adapters is about a seventh of the
instructions of ``alstrial stats mmrm`` on fev_data, for values that are already strings. Here
each parameter of a loaded command gets a converter that handles the common cases itself
(strings, lists of strings, decimal integers and floats, paths, values already of the declared
type) and hands everything else to Typer's own converter, built on first need; so unusual
input, and every error message about bad input, comes from Typer unchanged. A test compares
the two converters on every parameter of every command.

It relies on Typer's private ``_TyperParameter._runtime_param``; with a Typer without it (older
or newer), nothing is installed and Typer converts as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from typer import _click as click

try:  # private Typer API: absent in other Typer versions, in which case nothing is installed
    from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
    from typer._param_types import coerce_cli_path
    from typer.core import _TyperParameter
except ImportError:  # pragma: no cover - depends on the installed Typer
    RuntimeParam = None  # type: ignore[assignment,misc]

_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_NUMBERS: dict[type, re.Pattern[str]] = {int: _INT, float: _FLOAT}


def _simple(descriptor: Any) -> bool:
    """Whether the fast path can handle some of this parameter's values."""
    info = descriptor.parameter_info
    if descriptor.file_annotation is not None or info.parser is not None:
        return False
    annotation = descriptor.annotation
    if annotation == list[str]:
        return True
    if annotation is Path:
        return info.path_type in (None, Path)
    return annotation in (str, bool, int, float)


if RuntimeParam is not None:

    @dataclass(frozen=True)
    class FastRuntimeParam(RuntimeParam):
        """Typer's runtime conversion of one parameter, with a fast path for trivial values."""

        descriptor: Any = None
        _typer: list[Any] = field(default_factory=list, compare=False, repr=False)

        def typer_param(self) -> Any:
            """Typer's own converter (builds a pydantic adapter), built once on first need."""
            if not self._typer:
                self._typer.append(build_runtime_param(self.descriptor))
            return self._typer[0]

        def _coerce_value(self, value: Any, param: Any, ctx: click.Context) -> Any:
            fast = self._fast(value, param, ctx)
            if fast is not _MISSING:
                return fast
            return self.typer_param()._coerce_value(value, param=param, ctx=ctx)

        def _fast(self, value: Any, param: Any, ctx: click.Context) -> Any:
            annotation = self.annotation
            if annotation == list[str]:
                if isinstance(value, (list, tuple)) and all(type(v) is str for v in value):
                    return list(value)
                return _MISSING
            if annotation is Path:
                if type(value) is str and value:
                    return coerce_cli_path(Path(value), self.parameter_info, path_type=Path, param=param, ctx=ctx)
                if isinstance(value, Path):
                    return coerce_cli_path(value, self.parameter_info, path_type=Path, param=param, ctx=ctx)
                return _MISSING
            if annotation in _NUMBERS and type(value) is str and _NUMBERS[annotation].fullmatch(value):
                value = annotation(value)
            if type(value) is annotation and self._in_range(value):
                return value
            return _MISSING

        def _in_range(self, value: Any) -> bool:
            if self.annotation not in _NUMBERS:
                return True
            low, high = self.parameter_info.min, self.parameter_info.max
            return (low is None or value >= low) and (high is None or value <= high)


_MISSING = object()


def convert_fast(param: click.Parameter) -> None:
    """Give one Typer parameter the fast converter, if its type has a fast path."""
    if RuntimeParam is None or not isinstance(param, _TyperParameter) or param._runtime_param is not None:
        return
    descriptor: TypeDescriptor = param.type_descriptor
    if _simple(descriptor):
        param._runtime_param = FastRuntimeParam(
            parameter_info=descriptor.parameter_info, annotation=descriptor.annotation, descriptor=descriptor
        )


def with_fast_help_option(get_help_option: Callable[[click.Context], Any]) -> Callable[[click.Context], Any]:
    """Wrap a command's ``get_help_option``: ``--help`` is made per context, after the command is built."""

    def wrapped(ctx: click.Context) -> Any:
        option = get_help_option(ctx)
        if option is not None:
            convert_fast(option)
        return option

    return wrapped


def install(command: click.Command) -> click.Command:
    """Give every Typer parameter of ``command`` and of its subcommands, ``--help`` included, the fast converter."""
    if RuntimeParam is None:  # pragma: no cover - depends on the installed Typer
        return command
    for param in command.params:
        convert_fast(param)
    command.get_help_option = with_fast_help_option(command.get_help_option)  # type: ignore[method-assign,assignment]
    for sub in getattr(command, "commands", {}).values():
        install(sub)
    return command


__all__ = ["convert_fast", "install", "with_fast_help_option"]

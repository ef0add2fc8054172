"""Errors raised by the simulator."""

from __future__ import annotations

from alstrial.errors import AlstrialError


class SimulationError(AlstrialError):
    """The simulator was asked for something it cannot do (bad arguments or parameters)."""

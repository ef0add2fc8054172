"""The error the endpoint engines raise for data they cannot analyse (kept free of pandas, so that
the command line can raise and catch it before, or without, importing pandas)."""

from __future__ import annotations

from alstrial.errors import AlstrialError


class EndpointDataError(AlstrialError, ValueError):
    """The data handed to an endpoint cannot be analysed as asked (missing column, bad value...)."""

"""Errors and warnings raised by the MMRM engine."""

from __future__ import annotations

from alstrial.errors import AlstrialError


class MMRMError(AlstrialError):
    """The MMRM could not be specified or fitted on the given data (the message says why)."""


class MMRMSpecError(MMRMError):
    """An option of the MMRM specification is invalid."""


class MMRMDataError(MMRMError):
    """The data do not fit the specification: unknown column, bad values, empty visit, ..."""


class RankDeficientDesign(MMRMDataError):
    """The fixed-effects design is singular; ``aliased`` names the redundant columns."""

    def __init__(self, aliased: list[str]) -> None:
        self.aliased = list(aliased)
        names = ", ".join(repr(a) for a in self.aliased)
        super().__init__(
            f"the fixed-effects design is rank deficient: column(s) {names} are linear combinations "
            "of earlier columns (aliased); remove the term or merge levels"
        )


class MMRMConvergenceWarning(UserWarning):
    """The optimizer did not reach a stationary point; the result has ``converged=False``."""

"""ALS trial simulator: natural history, treatment, dropout; fast cohort path and virtual participants."""

from __future__ import annotations

from alstrial.simulate.calibration import CalibrationResult, run_calibration
from alstrial.simulate.cohort import Cohort, simulate_cohort
from alstrial.simulate.errors import SimulationError
from alstrial.simulate.participant import VirtualParticipant

__all__ = [
    "CalibrationResult",
    "Cohort",
    "SimulationError",
    "VirtualParticipant",
    "run_calibration",
    "simulate_cohort",
]

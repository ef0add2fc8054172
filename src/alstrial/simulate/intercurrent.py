"""The simulator's clinical events as sites record them: intercurrent-event kinds and the recording rule.

One definition serves both routes from a simulated trial to an analysis: the virtual sites that
enter a trial through the capture services (``virtual_sites``), and the analysis datasets built
straight from a simulated cohort for power studies (``design.cohort_datasets.adice_from_cohort``).
Both must hand the estimands the same events, or a power study would analyse a different
estimand than the trial it designs.
"""

from __future__ import annotations

import numpy as np

#: simulator event name -> the intercurrent-event kind a site records (``services.safety``)
EVENT_KINDS: dict[str, str] = {
    "gastrostomy": "gastrostomy",
    "niv": "niv_start",
    "tracheostomy": "tracheostomy",
    "pav": "permanent_assisted_ventilation",
    "death": "death",
}


def recorded(event_day: np.ndarray, dropout_day: np.ndarray, last_visit_day: float) -> np.ndarray:
    """Which events a site records: on or after the first dose, and while the participant is on study.

    An event after the participant left (or after the last scheduled visit) is never reported to
    the trial; an event before day 0 is history, not an intercurrent event. NaN days (no event,
    or no dropout) compare as "no event" and "stayed to the end".
    """
    day = np.asarray(event_day, dtype=float)
    left = np.asarray(dropout_day, dtype=float)
    last = np.where(np.isnan(left), last_visit_day, np.minimum(left, last_visit_day))
    with np.errstate(invalid="ignore"):
        return np.asarray((day >= 0) & (day <= last))


def study_day(event_day: np.ndarray) -> np.ndarray:
    """The study day a site writes for an event at ``event_day`` (the calendar date of that day)."""
    return np.floor(np.asarray(event_day, dtype=float))

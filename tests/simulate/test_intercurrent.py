"""Which simulated events a site records, and as which intercurrent-event kind."""

from __future__ import annotations

import numpy as np

from alstrial.services.safety import INTERCURRENT_KINDS
from alstrial.simulate.intercurrent import EVENT_KINDS, recorded, study_day
from alstrial.simulate.latent import EVENT_NAMES


def test_every_simulated_event_maps_to_a_kind_the_capture_service_accepts() -> None:
    assert set(EVENT_KINDS) == set(EVENT_NAMES)
    assert set(EVENT_KINDS.values()) <= set(INTERCURRENT_KINDS)


def test_an_event_is_recorded_from_day_0_while_the_participant_is_on_study() -> None:
    nan = np.nan
    event = np.array([-1.0, 0.0, 50.0, 60.0, 60.0, 196.0, 196.5, nan, 10.0])
    left = np.array([nan, nan, 60.0, 59.9, 60.0, nan, nan, nan, nan])
    got = recorded(event, left, 196.0)
    # before the first dose | day 0 | before leaving | after leaving | the day of leaving |
    # the last visit | after it | no event | no dropout
    assert got.tolist() == [False, True, True, False, True, True, False, False, True]


def test_the_study_day_is_the_calendar_day_of_the_event() -> None:
    assert study_day(np.array([0.0, 56.99, 57.0])).tolist() == [0.0, 56.0, 57.0]

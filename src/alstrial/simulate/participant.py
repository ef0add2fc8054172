"""One virtual participant that a virtual site can query day by day.

It runs the same model as the fast path (``cohort.py``), one participant at a time: the latent
state is drawn once; each queried day gets its own rater/assay noise, remembered so that asking
twice for the same day returns the same record.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from alstrial.protocol.simulation import SimulationParams
from alstrial.simulate.biomarkers import biomarker_noise, biomarker_values
from alstrial.simulate.dropout import DropoutDraws, draw_dropout
from alstrial.simulate.errors import SimulationError
from alstrial.simulate.events import event_days
from alstrial.simulate.latent import DAYS_PER_MONTH, EVENT_NAMES, MARKERS, LatentBatch
from alstrial.simulate.natural_history import ITEM_COLUMNS
from alstrial.simulate.observation import Observations, VisitNoise, observe
from alstrial.simulate.referral import draw_candidates
from alstrial.simulate.screening import CRITERIA, eligibility_flags
from alstrial.simulate.treatment import clock_slowing, death_hazard_ratio


class VirtualParticipant:
    """A simulated patient: query items, SVC, biomarkers and events at any day after onset."""

    def __init__(self, params: SimulationParams, latent: LatentBatch, rng: np.random.Generator) -> None:
        if latent.n != 1:
            raise SimulationError(f"a VirtualParticipant holds one latent state (got {latent.n})")
        self.params = params
        self.latent = latent
        self._rng = rng
        self._arm: str | None = None
        self._active = np.zeros(1, dtype=bool)
        self._slowing = np.zeros(1)
        self._events = event_days(params, latent)
        self._visits: dict[float, Observations] = {}
        self._markers: dict[float, dict[str, float | None]] = {}
        self._dropout: tuple[float | None, str] | None = None

    @classmethod
    def draw(cls, params: SimulationParams | None = None, rng: np.random.Generator | None = None) -> VirtualParticipant:
        """A newly referred candidate (not yet screened)."""
        params = params or SimulationParams()
        rng = rng if rng is not None else np.random.default_rng()
        return cls(params, draw_candidates(params, 1, rng), rng)

    # -- who the participant is --------------------------------------------------------------
    @property
    def demographics(self) -> dict[str, Any]:
        b = self.latent
        return {
            "age": float(b.age[0]),
            "sex": "F" if b.female[0] else "M",
            "onset_region": str(b.onset_region[0]),
            "riluzole": bool(b.riluzole[0]),
            "prior_stem_cell": bool(b.prior_stem_cell[0]),
            "site": int(b.site[0]),
            "onset_day": float(b.onset_day[0]),
            "diagnosis_day": float(b.diagnosis_day[0]),
        }

    @property
    def arm(self) -> str | None:
        return self._arm

    def assign_arm(self, arm: str, *, active: bool) -> None:
        """Randomize: fixes the treatment effect from day 0 on (needs the baseline record)."""
        if self._arm is not None:
            raise SimulationError(f"participant already randomized to {self._arm!r}")
        self._arm = arm
        self._active = np.array([active])
        baseline = float(self.visit(0)["total"])
        self._slowing = clock_slowing(self.params, self.latent, np.array([baseline]), self._active)
        hr = death_hazard_ratio(self.params, self._active)
        if np.any(self._slowing) or np.any(hr != 1.0):
            self._events = event_days(self.params, self.latent, self._slowing, hr)

    # -- queries -----------------------------------------------------------------------------
    def _observation(self, day: float) -> Observations:
        if day > 0 and self._arm is None:
            raise SimulationError(f"day {day!r} is after the first dose: assign_arm() first")
        if day not in self._visits:
            noise = VisitNoise.draw(self.params, 1, 1, self._rng, np.array([day]))
            self._visits[day] = observe(self.latent, np.array([day]), self._events, noise, self._slowing)
        return self._visits[day]

    def visit(self, day: float) -> dict[str, Any]:
        """ALSFRS-R items (None where not scored), total and SVC as recorded on ``day``."""
        o = self._observation(float(day))
        rec: dict[str, Any] = {}
        for k in ITEM_COLUMNS:
            v = o.items[k][0, 0]
            rec[k] = None if np.isnan(v) else int(v)
        rec["total"] = int(o.total[0, 0])
        rec["svc"] = float(o.svc[0, 0])
        return rec

    def biomarkers(self, day: float) -> dict[str, float | None]:
        """CSF NfL, VEGF, MCP-1 in pg/mL (None = below LLOQ)."""
        day = float(day)
        if day not in self._markers:
            noise = biomarker_noise(self.params, (1, 1), self._rng)
            vals = biomarker_values(self.params, self.latent, np.array([day]), self._active, noise)
            self._markers[day] = {m: (None if vals[m][1][0, 0] else float(vals[m][0][0, 0])) for m in MARKERS}
        return self._markers[day]

    def event_day(self, name: str) -> float | None:
        if name not in EVENT_NAMES:
            raise SimulationError(f"unknown event {name!r}, expected one of {EVENT_NAMES!r}")
        d = float(self._events[name][0])
        return None if np.isnan(d) else d

    def has_event(self, name: str, day: float) -> bool:
        d = self.event_day(name)
        return d is not None and d <= day

    def alive(self, day: float) -> bool:
        return not self.has_event("death", day)

    def screen(self) -> dict[str, bool]:
        """Eligibility on this participant's screening (``screening_day``) and run-in (``runin_day``) records."""
        s = self.visit(self.params.visits.screening_day)
        r = self.visit(self.params.visits.runin_day)
        crit = eligibility_flags(
            self.params,
            self.latent,
            np.array([s["total"]]),
            np.array([s["svc"]]),
            np.array([r["total"]]),
            self._events["death"],
        )
        return {c: bool(crit[c][0]) for c in (*CRITERIA, "eligible")}

    def dropout(self) -> tuple[float | None, str]:
        """(day the participant leaves, reason) or (None, '') if they complete follow-up."""
        if self._dropout is None:
            if self._arm is None:
                raise SimulationError("dropout is decided after randomization: assign_arm() first")
            days = np.asarray(self.params.visits.alsfrs_days, dtype=float)
            obs = [self._observation(float(d)) for d in days]
            total = np.hstack([o.total for o in obs])
            latent = np.hstack([o.latent_total for o in obs])
            draws = DropoutDraws.draw(1, days.size, self._rng)
            day, reason = draw_dropout(self.params, self.latent, days, total, latent, self._events["death"], draws)
            self._dropout = (None if np.isnan(day[0]) else float(day[0]), str(reason[0]))
        return self._dropout

    def attends(self, day: float) -> bool:
        """Does the participant come to a visit on ``day`` (after randomization)?"""
        left, _ = self.dropout()
        return left is None or day < left

    @property
    def months_since_onset_at_baseline(self) -> float:
        return float(-self.latent.onset_day[0] / DAYS_PER_MONTH)

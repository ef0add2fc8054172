"""Virtual sites: simulated participants pushed through the trial's real capture services.

Every record goes through the same services, validation, role checks and audit trail as data
typed by a real coordinator, so a simulated trial is also an end-to-end test of capture. The
simulator only decides *what* happens and *when*; the services decide whether it is allowed.

Participants are processed one after another in screening order, on a calendar that starts on
``start_date``; each participant's whole course (screening → run-in → randomization → bone-marrow
aspiration → doses → monthly visits → events → withdrawal) is pushed through the services in date
order. Everything is derived from the seed, so the same seed gives the same trial.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import numpy as np

from alstrial.protocol.models import Protocol
from alstrial.protocol.simulation import SimulationParams
from alstrial.services import (
    disposition,
    labs,
    lock,
    product,
    randomization,
    safety,
    screening,
    users,
    visits,
)
from alstrial.services.actor import Actor
from alstrial.services.context import CaptureDB
from alstrial.services.corrections import answer_query, close_query, correct_value, open_query
from alstrial.services.setup import bootstrap_actor
from alstrial.simulate.intercurrent import EVENT_KINDS
from alstrial.simulate.latent import EL_ESCORIAL_CATEGORIES
from alstrial.simulate.participant import VirtualParticipant

ADMIN = "admin"

#: Mapping from the simulator's dropout reasons to the capture layer's reason codes.
WITHDRAWAL_REASONS = {
    "withdrawal_by_subject": "WITHDRAWAL BY SUBJECT",
    "adverse_event": "ADVERSE EVENT",
    "lost_to_follow_up": "LOST TO FOLLOW-UP",
    "physician_decision": "PHYSICIAN DECISION",
    "death": "DEATH",
}

#: Procedure-related adverse events after a lumbar puncture or aspiration [M: plausible rates].
PROCEDURE_AES = (("Post-lumbar puncture headache", 0.12), ("Back pain", 0.10), ("Procedural pain", 0.05))


@dataclass
class VirtualTrialLog:
    """Counts of what the virtual sites did, for the demo's summary and for tests."""

    screened: int = 0
    screen_failed: int = 0
    randomized: int = 0
    doses: int = 0
    visits: int = 0
    out_of_window: int = 0
    lab_results: int = 0
    adverse_events: int = 0
    intercurrent_events: int = 0
    withdrawals: int = 0
    corrections: int = 0
    queries: int = 0
    emergency_unblindings: int = 0
    refused: dict[str, int] = field(default_factory=dict)


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=UTC)


class VirtualSites:
    """Drive one simulated trial through the capture services of ``db``."""

    def __init__(
        self,
        db: CaptureDB,
        protocol: Protocol,
        *,
        seed: int,
        params: SimulationParams | None = None,
        start_date: date = date(2021, 1, 4),
        out_of_window_rate: float = 0.015,
        correction_rate: float = 0.01,
    ) -> None:
        self.db = db
        self.protocol = protocol
        self.params = params or protocol.simulation
        self.rng = np.random.default_rng(np.random.SeedSequence([seed, 20261125]))
        self.start_date = start_date
        self.out_of_window_rate = out_of_window_rate
        self.correction_rate = correction_rate
        self.log = VirtualTrialLog()
        self.control = next((a.code for a in protocol.arms if a.is_control), protocol.arms[-1].code)
        self.actors: dict[str, Actor] = {}

    # -- people -----------------------------------------------------------------------------------
    def create_users(self) -> None:
        """One coordinator, investigator and lab technician per site, plus the study-wide roles."""
        admin = bootstrap_actor(self.db, ADMIN)
        self.actors["admin"] = admin
        specs: list[tuple[str, str, str | None]] = [
            ("dm", "data_manager", None),
            ("pharmacist", "pharmacist", None),
            ("stat", "statistician", None),
            ("ustat", "unblinded_statistician", None),
        ]
        for site in self.protocol.sites:
            s = site.code.lower()
            specs += [(f"coord_{s}", "site_coordinator", site.code), (f"inv_{s}", "investigator", site.code)]
            specs += [(f"lab_{s}", "lab_technician", site.code)]
        # Virtual staff never sign in: their accounts hold no usable password, so a simulated
        # database served later has no known credentials (the services take their Actors directly).
        for username, role, site_code in specs:
            users.add_user(self.db, admin, username=username, role=role, password=None, site=site_code)
            self.actors[username] = bootstrap_actor(self.db, username)

    def _site_actor(self, kind: str, site: str) -> Actor:
        return self.actors[f"{kind}_{site.lower()}"]

    # -- the trial ----------------------------------------------------------------------------------
    def run(
        self, *, n_randomized: int | None = None, progress: Callable[[int, int], None] | None = None
    ) -> VirtualTrialLog:
        """Screen candidates until ``n_randomized`` (default: the protocol's sample size) are randomized."""
        target = n_randomized or self.protocol.sample_size
        if not self.actors:
            self.create_users()
        calendar = self.start_date
        while self.log.randomized < target:
            # about 1.5 days between candidates: some 800 screened (issue 10: ~75 % screen failures)
            # still finish well before today, which the services require of every visit date
            calendar += timedelta(days=int(self.rng.integers(1, 3)))
            self._one_candidate(calendar)
            if progress is not None:
                progress(self.log.randomized, target)
        return self.log

    def close(
        self, admin_password: str, *, reason: str = "end of study: all participants completed or withdrawn"
    ) -> None:
        """Lock the database and unblind the trial, both signed by the admin with ``admin_password``.

        Virtual investigators hold no usable password, so they cannot sign casebooks electronically:
        the admin locks with a signed override that says so, and the audit trail lists the casebooks
        left unsigned.
        """
        admin = self.actors["admin"]
        lock.lock_database(
            self.db,
            admin,
            reason=reason,
            password=admin_password,
            override_reason="simulated trial: the virtual investigators cannot sign casebooks electronically",
        )
        lock.unblind_trial(self.db, admin, reason="database locked; final analysis", password=admin_password)

    def _one_candidate(self, screen_day: date) -> None:
        child = np.random.default_rng(self.rng.integers(0, 2**63))
        vp = VirtualParticipant.draw(self.params, child)
        demo = vp.demographics
        site = self.protocol.sites[(int(demo["site"]) - 1) % len(self.protocol.sites)].code
        coord = self._site_actor("coord", site)
        scr_visit = self.protocol.visits[0]
        day0 = screen_day - timedelta(days=scr_visit.day)  # planned first dose
        scr = vp.visit(scr_visit.day)
        values = {
            "age_years": int(demo["age"]),
            "sex": demo["sex"],
            "el_escorial": EL_ESCORIAL_CATEGORIES[int(vp.latent.el_escorial[0])],
            "months_since_onset": round(float((scr_visit.day - demo["onset_day"]) / 30.4375), 1),
            "onset_region": demo["onset_region"],
            "alsfrs_r_total": scr["total"],
            "svc_percent_predicted": round(scr["svc"], 1),
            "riluzole": demo["riluzole"],
            "prior_stem_cell_therapy": demo["prior_stem_cell"],
            "edaravone_within_30_days": False,
            "experimental_agent_within_30_days": False,
        }
        result = screening.screen_participant(
            self.db,
            coord,
            screened_on=screen_day,
            consent_date=screen_day - timedelta(days=int(self.rng.integers(0, 8))),
            values=values,
            site=site,
        )
        self.log.screened += 1
        code = result.participant
        if not result.eligible:
            self.log.screen_failed += 1
            return
        screening.enrol_participant(self.db, coord, code, enrolled_on=screen_day)
        self._visit(coord, code, scr_visit.code, screen_day, vp, scr_visit.day, assessments=True)
        runin = next(v for v in self.protocol.visits if "randomization" in v.assessments)
        runin_date = day0 + timedelta(days=runin.day)
        self._visit(coord, code, runin.code, runin_date, vp, runin.day, assessments=True)
        if not randomization.complete_runin(self.db, coord, code).eligible:
            self.log.screen_failed += 1
            return
        randomization.randomize_participant(self.db, coord, code)
        self.log.randomized += 1
        arm = randomization.participant_arm(self.db, self.actors["pharmacist"], code)
        vp.assign_arm(arm, active=arm != self.control)
        self._treatment_course(code, site, vp, day0, result.coi_id)

    # -- one participant's course ----------------------------------------------------------------------
    def _drift(self, visit: str) -> tuple[int, str | None]:
        """Days a scheduled visit moves from its target: a little inside the window, rarely outside."""
        spec = self.protocol.visit(visit)
        if spec.phase not in ("treatment", "follow_up") or spec.day == 0:
            return 0, None
        if self.rng.random() < self.out_of_window_rate:
            late = spec.window_after + int(self.rng.integers(1, 6))
            return late, "participant unavailable within the window (travel)"
        return int(self.rng.integers(-min(spec.window_before, 3), min(spec.window_after, 3) + 1)), None

    def _visit(
        self,
        actor: Actor,
        code: str,
        visit: str,
        when: date,
        vp: VirtualParticipant,
        sim_day: int,
        *,
        assessments: bool,
        reason: str | None = None,
    ) -> dict[str, object] | None:
        """Record a visit on ``when`` (study day ``sim_day``) and, if asked, its assessments."""
        spec = self.protocol.visit(visit)
        visits.record_visit(self.db, actor, code, visit, when, out_of_window_reason=reason)
        self.log.visits += 1
        if reason is not None:  # counted when recorded: a drifted visit the participant never came to is not one
            self.log.out_of_window += 1
        if not assessments:
            return None
        rec = vp.visit(sim_day)
        if "alsfrs_r" in spec.assessments:
            items = {
                k: rec[k] for k in ("q1", "q2", "q3", "q4", "q5a", "q5b", "q6", "q7", "q8", "q9", "q10", "q11", "q12")
            }
            visits.record_alsfrs(
                self.db, actor, code, visit, {k: v for k, v in items.items() if v is not None}, assessed_on=when
            )
        if "svc" in spec.assessments:
            svc = round(float(rec["svc"]), 1)
            typo = spec.day >= 0 and self.rng.random() < self.correction_rate
            svc_id = visits.record_vital_capacity(
                self.db, actor, code, visit, percent_predicted=round(svc + 10.0, 1) if typo else svc
            )
            if typo:  # a transposed digit, caught by the data manager and corrected from the source
                self._correction(actor, svc_id, svc)
        return rec

    def _treatment_course(self, code: str, site: str, vp: VirtualParticipant, day0: date, coi: str) -> None:
        coord = self._site_actor("coord", site)
        inv = self._site_actor("inv", site)
        lab = self._site_actor("lab", site)
        pharmacist = self.actors["pharmacist"]
        p = self.protocol
        # bone-marrow aspiration in both arms, then one lot per dose (placebo lots look the same)
        bma = p.visit(p.dosing.source_procedure_visit) if p.dosing.source_procedure_visit else None
        lots: dict[int, str] = {}
        if bma is not None:
            bma_date = day0 + timedelta(days=bma.day)
            visits.record_visit(self.db, coord, code, bma.code, bma_date)
            aspiration = product.record_aspiration(self.db, inv, code, aspirated_at=_at(bma_date), volume_ml=60.0)
            self._maybe_ae(inv, code, bma_date, ("Procedural pain", 0.08))
            for dose in p.dosing.doses:
                lot = product.manufacture_lot(
                    self.db,
                    pharmacist,
                    aspiration_id=aspiration,
                    dose_number=dose.number,
                    manufactured_on=bma_date + timedelta(days=14),
                    expires_on=bma_date + timedelta(days=400),
                )
                product.release_lot(self.db, pharmacist, lot.lot_number)
                lots[dose.number] = lot.lot_number
        dose_at = {d.visit: d.number for d in p.dosing.doses}
        left_day, left_reason = vp.dropout()
        events = self._events(vp)
        recorded_events: set[str] = set()
        for spec in p.visits:
            if spec.day < 0:
                continue
            drift, reason = self._drift(spec.code)
            day = spec.day + drift
            if not vp.attends(day) or not vp.alive(day):
                break
            when = day0 + timedelta(days=day)
            for name, event_day in events:
                if name not in recorded_events and event_day <= day:
                    self._intercurrent(inv, code, name, day0 + timedelta(days=int(event_day)))
                    recorded_events.add(name)
            self._visit(coord, code, spec.code, when, vp, day, assessments=True, reason=reason)
            if "csf" in spec.assessments:
                self._csf(coord, lab, code, spec.code, when, vp, day)
            if spec.code in dose_at and lots:
                product.administer_dose(
                    self.db,
                    inv,
                    code,
                    lot_number=lots[dose_at[spec.code]],
                    label_coi_id=coi,
                    administered_at=_at(when, 11),
                    dose_number=dose_at[spec.code],
                )
                self.log.doses += 1
                for term, prob in PROCEDURE_AES:
                    self._maybe_ae(inv, code, when, (term, prob))
        end_day = p.visits[-1].day
        for name, event_day in events:
            if name not in recorded_events and event_day <= min(end_day, left_day if left_day is not None else end_day):
                self._intercurrent(inv, code, name, day0 + timedelta(days=int(event_day)))
        if left_day is not None and left_day <= end_day:
            on = day0 + timedelta(days=int(np.ceil(left_day)))
            reason = WITHDRAWAL_REASONS.get(left_reason, "OTHER")
            if reason == "DEATH":
                death = vp.event_day("death")
                on = day0 + timedelta(days=int(death)) if death is not None else on
            disposition.withdraw_participant(
                self.db,
                inv,
                code,
                on=on,
                reason_code=reason,
                decided_by="participant" if reason == "WITHDRAWAL BY SUBJECT" else "investigator",
                vital_status_followup=reason != "WITHDRAWAL BY SUBJECT",
            )
            self.log.withdrawals += 1

    def _events(self, vp: VirtualParticipant) -> list[tuple[str, float]]:
        out = []
        for sim_name, kind in EVENT_KINDS.items():
            d = vp.event_day(sim_name)
            if d is not None and d >= 0:
                out.append((kind, d))
        return sorted(out, key=lambda t: t[1])

    def _intercurrent(self, inv: Actor, code: str, kind: str, on: date) -> None:
        extra = {"hours_per_day": 23.0, "consecutive_days": 8} if kind == "permanent_assisted_ventilation" else {}
        safety.record_intercurrent_event(self.db, inv, code, kind=kind, event_date=on, **extra)  # type: ignore[arg-type]
        self.log.intercurrent_events += 1
        if kind == "death":
            safety.record_adverse_event(
                self.db,
                inv,
                code,
                term="Respiratory failure",
                onset_date=on,
                severity="SEVERE",
                relatedness="NOT RELATED",
                action_taken="NOT APPLICABLE",
                outcome="FATAL",
                serious=True,
                criteria=("death",),
            )
            self.log.adverse_events += 1

    def _maybe_ae(self, inv: Actor, code: str, when: date, term_prob: tuple[str, float]) -> None:
        term, prob = term_prob
        if self.rng.random() >= prob:
            return
        onset = when + timedelta(days=int(self.rng.integers(0, 3)))
        safety.record_adverse_event(
            self.db,
            inv,
            code,
            term=term,
            onset_date=onset,
            severity=str(self.rng.choice(["MILD", "MILD", "MODERATE"])),
            relatedness="RELATED",
            action_taken="DOSE NOT CHANGED",
            outcome="RECOVERED/RESOLVED",
            resolution_date=onset + timedelta(days=int(self.rng.integers(1, 10))),
        )
        self.log.adverse_events += 1

    def _csf(
        self, coord: Actor, lab: Actor, code: str, visit: str, when: date, vp: VirtualParticipant, day: int
    ) -> None:
        sample_id = f"CSF-{code}-{visit}"
        labs.record_csf_sample(self.db, lab, code, visit=visit, sample_id=sample_id, collected_at=_at(when, 9))
        values = vp.biomarkers(day)
        results = []
        for analyte in self.protocol.analytes:
            value = values.get(analyte.code.lower(), values.get(analyte.code))
            results.append(
                labs.LabResultInput(
                    analyte=analyte.code,
                    value=None if value is None else round(float(value), 2),
                    unit=analyte.unit,
                    below_lloq=value is None,
                )
            )
        # one lab report, one transaction: same rows and audit records as one call per analyte
        labs.record_lab_results(self.db, lab, sample_id=sample_id, results=results, assay="simulated immunoassay")
        self.log.lab_results += len(results)

    def _correction(self, coord: Actor, svc_id: int, true_value: float) -> None:
        """A data manager queries a value; the coordinator answers and corrects it with a reason."""
        dm = self.actors["dm"]
        q = open_query(
            self.db,
            dm,
            entity="vital_capacity",
            entity_id=svc_id,
            field="percent_predicted",
            text="Please verify: SVC is 10 points above the previous visit.",
        )
        answer_query(self.db, coord, q.id, answer="Transcription error; corrected from the source document.")
        correct_value(
            self.db,
            coord,
            entity="vital_capacity",
            entity_id=svc_id,
            field="percent_predicted",
            new_value=true_value,
            reason="transcription error (source document)",
            version=1,  # the value as first entered: nobody else has changed it
        )
        close_query(self.db, dm, q.id, note="corrected from source")
        self.log.corrections += 1
        self.log.queries += 1

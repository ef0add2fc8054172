"""Service steps for a caller's own unit of work (``services.unit_of_work``): several steps, ONE transaction.

Each step is the body of the public service of the same name, taking the unit's :class:`Tx`
instead of a database and an actor; it checks its own permission (``Tx.require``) and the
database lock, validates its input and queues its audit records exactly as the service does.

    with unit_of_work(db, actor) as tx:
        steps.record_visit(tx, "S01-0004", "W4", visit_date, None)
        steps.record_alsfrs(tx, "S01-0004", "W4", responses, None)
"""

from alstrial.services.corrections import correct_value_step as correct_value
from alstrial.services.disposition import withdraw_participant_step as withdraw_participant
from alstrial.services.labs import record_csf_sample_step as record_csf_sample
from alstrial.services.labs import record_lab_result_step as record_lab_result
from alstrial.services.labs import record_lab_results_step as record_lab_results
from alstrial.services.product import administer_dose_step as administer_dose
from alstrial.services.randomization import randomize_step as randomize_participant
from alstrial.services.runin import complete_runin_step as complete_runin
from alstrial.services.safety import record_adverse_event_step as record_adverse_event
from alstrial.services.safety import record_intercurrent_event_step as record_intercurrent_event
from alstrial.services.screening import enrol_step as enrol_participant
from alstrial.services.screening import screen_step as screen_participant
from alstrial.services.visits import record_alsfrs_step as record_alsfrs
from alstrial.services.visits import record_visit_step as record_visit

__all__ = [
    "administer_dose",
    "complete_runin",
    "correct_value",
    "enrol_participant",
    "randomize_participant",
    "record_adverse_event",
    "record_alsfrs",
    "record_csf_sample",
    "record_intercurrent_event",
    "record_lab_result",
    "record_lab_results",
    "record_visit",
    "screen_participant",
    "withdraw_participant",
]

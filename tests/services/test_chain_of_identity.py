"""The autologous product's chain of identity: mismatches block the dose and are audited."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from capture_calls import AT0, DAY0, prepare

from alstrial import services as sv
from conftest import no_trace, snapshot


def test_matching_identifiers_give_the_dose(trial) -> None:
    ctx = prepare(trial)
    sv.administer_dose(
        trial.db,
        trial["investigator"],
        ctx["rand"],
        lot_number=ctx["lot_released"],
        label_coi_id=ctx["coi"],
        administered_at=AT0,
        dose_number=1,
    )
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="administered"):
        sv.administer_dose(
            trial.db,
            trial["investigator"],
            ctx["rand"],
            lot_number=ctx["lot_released"],
            label_coi_id=ctx["coi"],
            administered_at=AT0,
            dose_number=1,
        )


@pytest.mark.parametrize("case", ["wrong_label", "other_participants_lot"])
def test_mismatch_blocks_the_dose_and_the_refusal_is_audited(trial, case: str) -> None:
    ctx = prepare(trial)
    other = trial.at_day0()
    label, code = ctx["coi"], ctx["rand"]
    if case == "wrong_label":
        label = "COI-WRONG00000"
    else:
        code = other  # the first participant's lot taken to the second participant's bed
        label = sv.participant_detail  # placeholder replaced below
        from sqlalchemy import select

        from alstrial.store.models import Participant

        with trial.db.sessions() as s:
            label = s.execute(select(Participant.coi_id).where(Participant.code == other)).scalar_one()
    before = snapshot(trial.db)
    with pytest.raises(sv.ChainOfIdentityMismatch, match="dose blocked") as err:
        sv.administer_dose(
            trial.db,
            trial["investigator"],
            code,
            lot_number=ctx["lot_released"],
            label_coi_id=label,
            administered_at=AT0,
            dose_number=1,
        )
    after = snapshot(trial.db)
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"audit_record", "audit_head", "audit_last"}  # only the refusal, no dose
    assert after["administration"] == before["administration"] == 0
    log = sv.audit_log(trial.db, trial["data_manager"], participant=code)
    assert log[-1].action == "dose.refused_chain_of_identity"
    assert log[-1].reason == str(err.value)
    assert sv.verify_audit_trail(trial.db.engine).ok


def test_lot_state_rules(trial) -> None:
    ctx = prepare(trial)
    inv = trial["investigator"]
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="only a released lot"):
        sv.administer_dose(
            trial.db,
            inv,
            ctx["rand"],
            lot_number=ctx["lot_made"],
            label_coi_id=ctx["coi"],
            administered_at=AT0,
            dose_number=2,
        )
    with no_trace(trial.db), pytest.raises(sv.NotFound):
        sv.administer_dose(
            trial.db,
            inv,
            ctx["rand"],
            lot_number="LOT-NOPE",
            label_coi_id=ctx["coi"],
            administered_at=AT0,
            dose_number=1,
        )
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="dose 1"):
        sv.administer_dose(
            trial.db,
            inv,
            ctx["rand"],
            lot_number=ctx["lot_released"],
            label_coi_id=ctx["coi"],
            administered_at=AT0,
            dose_number=2,
        )
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="time zone"):
        sv.administer_dose(
            trial.db,
            inv,
            ctx["rand"],
            lot_number=ctx["lot_released"],
            label_coi_id=ctx["coi"],
            administered_at=AT0.replace(tzinfo=None),
            dose_number=1,
        )
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="only a manufactured lot"):
        sv.release_lot(trial.db, trial["pharmacist"], ctx["lot_released"])
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed, match="after the manufacturing date"):
        sv.manufacture_lot(
            trial.db,
            trial["pharmacist"],
            aspiration_id=ctx["bma"],
            dose_number=3,
            manufactured_on=DAY0,
            expires_on=DAY0 - timedelta(days=1),
        )
    with no_trace(trial.db), pytest.raises(sv.InvalidState, match="follows randomization"):
        sv.record_aspiration(trial.db, inv, ctx["enrolled"], aspirated_at=AT0, volume_ml=50)


def test_active_and_placebo_lots_look_the_same(trial) -> None:
    """Lots of both arms carry the same fields and lot-number format (blinding of the product)."""
    import re

    arms, views = set(), []
    for _ in range(6):
        code = trial.randomized()
        arms.add(sv.participant_arm(trial.db, trial["pharmacist"], code))
        bma = sv.record_aspiration(trial.db, trial["investigator"], code, aspirated_at=AT0, volume_ml=55)
        views.append(
            sv.manufacture_lot(
                trial.db,
                trial["pharmacist"],
                aspiration_id=bma,
                dose_number=1,
                manufactured_on=DAY0,
                expires_on=DAY0 + timedelta(days=30),
            )
        )
        if len(arms) == 2:
            break
    assert arms == {"MSC", "PBO"}
    assert all(re.fullmatch(r"LOT-[2-9A-Z]{8}", v.lot_number) for v in views)
    assert {tuple(v.to_dict()) for v in views} == {tuple(views[0].to_dict())}
    assert len({v.labelled_amount for v in views}) == 1


@pytest.mark.parametrize(
    ("made", "expires", "field", "words"),
    [
        (date(1900, 1, 1), date(1900, 3, 1), "manufactured_on", "not a plausible date"),
        (DAY0 + timedelta(days=3650), DAY0 + timedelta(days=3700), "manufactured_on", "not a plausible date"),
        (DAY0 - timedelta(days=60), DAY0 + timedelta(days=30), "manufactured_on", "before its aspiration"),
        (DAY0, "2027-01-01", "expires_on", "expected a date"),
    ],
)
def test_a_lot_date_that_cannot_be_true_is_refused(trial, made, expires, field: str, words: str) -> None:
    """A lot is made from the marrow of one aspiration (28 days before day 0 here): not before it, not in 1900,
    not in the future — the same plausibility rule as every other trial date (``domain.fields.date_problem``)."""
    ctx = prepare(trial)
    with no_trace(trial.db), pytest.raises(sv.ValidationFailed) as refused:
        sv.manufacture_lot(
            trial.db,
            trial["pharmacist"],
            aspiration_id=ctx["bma"],
            dose_number=3,
            manufactured_on=made,
            expires_on=expires,
        )
    assert [p.where for p in refused.value.problems] == [field]
    assert words in str(refused.value)

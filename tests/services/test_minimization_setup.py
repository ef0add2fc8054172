"""A protocol randomizing by Pocock–Simon minimization works through the services: the random element is
seeded and concealed, and every allocation is reproduced from the audit trail and the stored seed."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from test_blinding import arm_values

from alstrial import services as sv
from alstrial.domain.randomization.kit_codes import is_kit_code
from alstrial.domain.randomization.minimization import Minimizer
from alstrial.protocol import default_protocol_path, parse_protocol
from alstrial.services.context import CaptureDB, sha256_text
from alstrial.store.audit_chain import canonical_json
from alstrial.store.models import AllocationSlot, MinimizationDecision, Participant, Trial
from conftest import Trial as TrialFixture
from conftest import make_trial

SEED = 987_654_321


def minimization_protocol(p: float = 0.8) -> str:
    text = default_protocol_path().read_text(encoding="utf-8")
    assert 'method = "permuted_block"' in text
    text = text.replace('method = "permuted_block"', 'method = "minimization"')
    return text.replace("minimization_probability = 0.8", f"minimization_probability = {p}")


@pytest.fixture
def mini(capture_db: CaptureDB) -> TrialFixture:
    return make_trial(capture_db, minimization_protocol(), seed=SEED)


def _randomize_mix(trial: TrialFixture, n: int) -> list[str]:
    """``n`` participants, the ALSFRS-R band alternating in an irregular pattern."""
    return [trial.randomized(alsfrs_r_total=30 if i % 3 == 0 else 40) for i in range(n)]


def test_setup_describes_minimization_and_draws_no_list(capture_db: CaptureDB) -> None:
    result = sv.setup_trial(
        capture_db, minimization_protocol(), seed=SEED, admin_username="admin", admin_password="setup-phrase-for-tests"
    )
    assert result.method == "minimization" and result.allocation_entries == 0
    assert "Pocock–Simon minimization" in str(result) and result.strata == 12  # 6 sites × 2 bands
    with capture_db.sessions() as s:
        assert s.execute(select(AllocationSlot)).first() is None
        assert int(s.execute(select(Trial.randomization_seed)).scalar_one()) == SEED
    from alstrial.services.setup import bootstrap_actor

    [entry] = [a for a in sv.audit_log(capture_db, bootstrap_actor(capture_db, "admin")) if "minimization" in a.action]
    assert entry.changes["p"]["new"] == 0.8 and entry.changes["factors"]["new"][1][0] == "alsfrs_r_band"


def test_allocations_replay_from_the_audit_trail_and_the_seed(mini: TrialFixture) -> None:
    codes = _randomize_mix(mini, 14)
    # the audit trail, readable by blinded roles, holds the factors and the assignment number but no arm or draw
    log = [a for a in sv.audit_log(mini.db, mini["monitor"]) if a.action == "participant.randomize"]
    assert [a.participant for a in log] == codes
    assert arm_values(log) == [] and not any("draw" in json.dumps(a.changes) for a in log)
    protocol = mini.db.protocol()
    with mini.db.sessions() as s:
        seed = int(s.execute(select(Trial.randomization_seed)).scalar_one())
        stored = {
            code: row
            for row, code in s.execute(
                select(MinimizationDecision, Participant.code).join(
                    Participant, MinimizationDecision.participant_id == Participant.id
                )
            ).all()
        }
    replay = Minimizer([(a.code, a.ratio) for a in protocol.arms], protocol.strata_levels(), p=0.8, seed=seed)
    for line in log:
        factors = line.changes["minimization_factors"]["new"]
        decision = replay.decide(factors)
        row = stored[line.participant]
        assert decision.index == line.changes["allocation_sequence"]["new"] == row.sequence
        assert (decision.arm, decision.draw) == (row.arm, row.draw)
        # the audit's digest proves the concealed decision (given its nonce) was not altered
        record = {
            "sequence": decision.index,
            "participant": line.participant,
            "factors": dict(decision.participant),
            "scores": dict(decision.scores),
            "probabilities": dict(decision.probabilities),
            "draw": decision.draw,
            "arm": decision.arm,
            "nonce": row.nonce,
        }
        assert sha256_text(canonical_json(record)) == line.changes["decision_sha256"]["new"] == row.decision_sha256
    # the arms the unblinded roles see are the replayed ones; kits look like any other kit
    listed = {r.participant: r for r in sv.allocation_list(mini.db, mini["unblinded_statistician"])}
    assert {c: listed[c].arm for c in codes} == {c: stored[c].arm for c in codes}
    assert all(is_kit_code(listed[c].kit_code) for c in codes)
    assert len({listed[c].kit_code for c in codes}) == len(codes)
    assert sv.participant_arm(mini.db, mini["pharmacist"], codes[0]) == stored[codes[0]].arm
    # minimization balances: both arms used, marginal imbalance small
    assert replay.max_marginal_imbalance() <= 2
    with pytest.raises(sv.AllocationConcealed):
        sv.allocation_list(mini.db, mini["statistician"])


def test_a_wrong_seed_does_not_replay(mini: TrialFixture) -> None:
    """The replay check can fail: another seed gives other draws."""
    _randomize_mix(mini, 6)
    protocol = mini.db.protocol()
    log = [a for a in sv.audit_log(mini.db, mini["monitor"]) if a.action == "participant.randomize"]
    with mini.db.sessions() as s:
        draws = list(s.scalars(select(MinimizationDecision.draw).order_by(MinimizationDecision.sequence)))
    other = Minimizer([(a.code, a.ratio) for a in protocol.arms], protocol.strata_levels(), p=0.8, seed=SEED + 1)
    assert [other.decide(a.changes["minimization_factors"]["new"]).draw for a in log] != draws


def test_the_same_seed_gives_the_same_allocations_in_a_fresh_database(tmp_path, sqlite_template: str) -> None:
    import shutil

    arms = []
    for name in ("a.db", "b.db"):
        shutil.copyfile(sqlite_template, tmp_path / name)
        db = CaptureDB.from_url(str(tmp_path / name))
        trial = make_trial(db, minimization_protocol(), seed=SEED)
        codes = _randomize_mix(trial, 6)
        arms.append([sv.participant_arm(db, trial["pharmacist"], c) for c in codes])
        db.dispose()
    assert arms[0] == arms[1] and len(set(arms[0])) == 2


def test_a_minimization_design_the_minimizer_refuses_is_a_clear_error(capture_db: CaptureDB) -> None:
    text = minimization_protocol()
    protocol = parse_protocol(text, source="t")
    assert protocol.randomization.method == "minimization"
    with pytest.raises(sv.ValidationFailed, match="seed"):
        sv.setup_trial(capture_db, text, seed=-1, admin_username="admin", admin_password="setup-phrase-for-tests")
    with capture_db.sessions() as s:
        assert s.execute(select(Trial)).first() is None


def test_concurrent_randomizations_by_minimization_stay_in_one_replayable_sequence(mini: TrialFixture) -> None:
    """Threads randomizing at once are serialised on the trial row: sequences 1..n without gaps, replayable."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from alstrial.errors import AlstrialError

    codes = [mini.enrolled(alsfrs_r_total=30 if i % 2 else 40) for i in range(6)]
    barrier = Barrier(len(codes))

    def one(code: str) -> object:
        barrier.wait()
        try:
            return sv.randomize_participant(mini.db, mini["investigator"], code)
        except Exception as exc:  # inspected below
            return exc

    with ThreadPoolExecutor(len(codes)) as pool:
        outcomes = list(pool.map(one, codes))
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert all(isinstance(e, AlstrialError) for e in errors), errors  # no raw database error
    retried = [
        sv.randomize_participant(mini.db, mini["investigator"], c)
        for c, o in zip(codes, outcomes, strict=True)
        if isinstance(o, Exception)
    ]
    assert len(retried) == len(errors)  # a busy/conflict refusal wrote nothing: the retry succeeds
    log = [a for a in sv.audit_log(mini.db, mini["monitor"]) if a.action == "participant.randomize"]
    assert sorted(a.changes["allocation_sequence"]["new"] for a in log) == list(range(1, len(codes) + 1))
    protocol = mini.db.protocol()
    replay = Minimizer([(a.code, a.ratio) for a in protocol.arms], protocol.strata_levels(), p=0.8, seed=SEED)
    in_order = sorted(log, key=lambda a: a.changes["allocation_sequence"]["new"])
    replayed = {a.participant: replay.decide(a.changes["minimization_factors"]["new"]).arm for a in in_order}
    assert replayed == {c: sv.participant_arm(mini.db, mini["pharmacist"], c) for c in codes}


def test_verify_checks_minimized_allocations_against_the_audit_trail(mini: TrialFixture) -> None:
    """`alstrial verify` on a minimization trial: clean, then a flipped arm is found, even in both tables."""
    from sqlalchemy import text

    from alstrial.services.audit import verify_database

    codes = _randomize_mix(mini, 4)
    clean = verify_database(mini.db.engine)
    assert clean.ok, str(clean)
    with mini.db.engine.begin() as conn:
        slot_id, arm = conn.execute(text("SELECT id, arm FROM allocation_slot ORDER BY id LIMIT 1")).one()
        other = next(a.code for a in mini.db.protocol().arms if a.code != arm)
        conn.execute(text("UPDATE allocation_slot SET arm = :a WHERE id = :i"), {"a": other, "i": slot_id})
    found = verify_database(mini.db.engine).data.differences
    assert [(d.table, d.field) for d in found] == [("allocation_slot", "arm")]
    with mini.db.engine.begin() as conn:  # the forger also rewrites the concealed decision
        conn.execute(
            text(
                "UPDATE minimization_decision SET arm = :a WHERE participant_id = (SELECT participant_id "
                "FROM allocation_slot WHERE id = :i)"
            ),
            {"a": other, "i": slot_id},
        )
    found = verify_database(mini.db.engine).data.differences
    assert [(d.table, d.field) for d in found] == [("minimization_decision", "decision_sha256")]
    assert len(codes) == 4

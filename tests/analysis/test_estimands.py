"""Intercurrent-event strategies decide which ALSFRS-R values an analysis uses."""

from __future__ import annotations

import pandas as pd

from alstrial.analysis.estimands import apply_strategies, empty_adice
from alstrial.analysis.plan import engine_notes
from alstrial.protocol.models import Estimand, IntercurrentEventHandling


def _estimand(*handling: tuple[str, str]) -> Estimand:
    return Estimand(
        id="E",
        endpoint="X",
        label="x",
        population="FAS",
        variable="change",
        summary="difference",
        intercurrent_events=[IntercurrentEventHandling(event=e, strategy=s) for e, s in handling],  # type: ignore[arg-type]
    )


ADQS = pd.DataFrame({"USUBJID": ["a"] * 4 + ["b"] * 4, "ADY": [0, 28, 56, 84] * 2, "AVAL": [40, 39, 38, 37] * 2})
ADICE = pd.DataFrame(
    {"USUBJID": ["a", "b"], "EVENT": ["treatment_discontinuation", "permanent_assisted_ventilation"], "ADY": [30, 60]}
)


def test_each_strategy_uses_the_values_it_should() -> None:
    kept, log = apply_strategies(ADQS, ADICE, _estimand(("treatment_discontinuation", "treatment_policy")))
    assert len(kept) == 8 and log.handled[0]["values_set_aside"] == 0
    kept, log = apply_strategies(
        ADQS,
        ADICE,
        _estimand(
            ("treatment_discontinuation", "while_on_treatment"), ("permanent_assisted_ventilation", "hypothetical")
        ),
    )
    # a: values after day 30 go (56, 84); b: after day 60 (84)
    assert kept.groupby("USUBJID")["ADY"].max().to_dict() == {"a": 28, "b": 56}
    assert [h["values_set_aside"] for h in log.handled] == [2, 1]
    kept, log = apply_strategies(ADQS, ADICE, _estimand(("death", "principal_stratum")))
    assert len(kept) == 8 and "not estimable" in log.handled[0]["note"]
    same, log = apply_strategies(ADQS, empty_adice(), None)
    assert same is ADQS and log.estimand == "none"


def test_engine_notes_reach_the_plan() -> None:
    class Fit:
        converged = False
        optimizer = "powell (after lbfgs failed)"
        notes = ("Retrying MixedLM optimization with powell",)

    notes = engine_notes({"NFL": Fit()})
    assert notes[0] == "NFL: Fit: the model did not converge (powell (after lbfgs failed))"
    assert notes[1] == "NFL: Fit note: Retrying MixedLM optimization with powell"

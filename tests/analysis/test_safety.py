"""Adverse-event summary: participants (not events) per arm over the safety set."""

from __future__ import annotations

import pandas as pd

from alstrial.analysis.safety import safety_summary

ADSL = pd.DataFrame(
    {
        "USUBJID": ["A1", "A2", "A3", "B1", "B2", "X9"],
        "ARM": ["MSC", "MSC", "MSC", "PBO", "PBO", "PBO"],
        "RANDFL": [True, True, True, True, True, True],
        "SAFFL": [True, True, True, True, True, False],  # X9 never dosed: outside the safety set
    }
)
ADAE = pd.DataFrame(
    {
        "USUBJID": ["A1", "A1", "A2", "B1", "X9"],
        "ARM": ["MSC", "MSC", "MSC", "PBO", "PBO"],
        "AETERM": ["Headache", "Headache", "Back pain", "Respiratory failure", "Headache"],
        "AESER": [False, False, False, True, False],
        "AESEV": ["MILD", "MODERATE", "MILD", "SEVERE", "MILD"],
        "AEREL": ["RELATED", "POSSIBLY RELATED", "NOT RELATED", "NOT RELATED", "RELATED"],
        "AEOUT": ["RECOVERED/RESOLVED"] * 3 + ["FATAL", "RECOVERED/RESOLVED"],
        "AESTDY": [1, 57, 3, 150, 2],
    }
)


def test_counts_participants_not_events_over_the_safety_set() -> None:
    s = safety_summary(ADSL, ADAE, ["MSC", "PBO"])
    assert s.n == {"MSC": 3, "PBO": 2}
    o = s.overview
    assert o.loc["any adverse event"].to_dict() == {"MSC": 2, "PBO": 1}  # A1's two headaches count once
    assert o.loc["serious adverse event"].to_dict() == {"MSC": 0, "PBO": 1}
    assert o.loc["related adverse event"].to_dict() == {"MSC": 1, "PBO": 0}  # X9 is not in the safety set
    assert o.loc["severe adverse event"].to_dict() == {"MSC": 0, "PBO": 1}
    assert o.loc["fatal adverse event"].to_dict() == {"MSC": 0, "PBO": 1}
    assert s.by_term.loc["Headache"].to_dict() == {"MSC": 1, "PBO": 0}
    assert list(s.by_term.index) == ["Back pain", "Headache", "Respiratory failure"]  # ties stay alphabetical
    d = s.to_dict()
    assert d["overview"]["any adverse event"] == {"MSC": 2, "PBO": 1}
    assert "safety set: MSC 3, PBO 2" in str(s)


def test_no_adverse_events_gives_zero_rows() -> None:
    s = safety_summary(ADSL, ADAE.iloc[0:0], ["MSC", "PBO"])
    assert s.overview.to_numpy().sum() == 0
    assert s.by_term.empty

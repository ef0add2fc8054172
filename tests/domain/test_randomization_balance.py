"""Balance report: per stratum, per factor level and overall; ratio-adjusted; printable."""

from __future__ import annotations

import json

import pytest

from alstrial.domain.randomization import (
    AllocationEntry,
    AllocationList,
    BalanceReport,
    InvalidRandomizationSpec,
    all_strata,
    balance_report,
    generate_block_list,
)

FACTORS = [("site", ["S01", "S02"]), ("band", ["lt35", "ge35"])]
ARMS = [("MSC", 1), ("PBO", 1)]


def _hand_list() -> AllocationList:
    """Stratum 'all': block 1 = MSC, PBO; block 2 = MSC, MSC, PBO, PBO."""
    arms = ["MSC", "PBO", "MSC", "MSC", "PBO", "PBO"]
    entries = [
        AllocationEntry("all", i + 1, 1 if i < 2 else 2, 2 if i < 2 else 4, arm, f"K-AAAAA{i + 2}")
        for i, arm in enumerate(arms)
    ]
    return AllocationList(arms=tuple(ARMS), strata=("all",), entries=tuple(entries))


def test_hand_built_list_running_and_block_end_imbalance():
    report = balance_report(_hand_list())
    row = report.strata[0]
    assert dict(row.counts) == {"MSC": 3, "PBO": 3}
    assert row.imbalance == 0 and row.block_end_imbalance == 0 and row.blocks == 2
    assert row.max_running_imbalance == 2  # after MSC, PBO, MSC, MSC
    # only the first 4 entries used: mid-block, imbalance 2, one block end reached
    partial = balance_report(_hand_list(), used={"all": 4}).strata[0]
    assert dict(partial.counts) == {"MSC": 3, "PBO": 1}
    assert partial.imbalance == 2 and partial.block_end_imbalance == 0 and partial.blocks == 1


def test_generated_list_report_per_stratum_margin_and_overall():
    strata = all_strata(FACTORS)
    allocation = generate_block_list(ARMS, strata, per_stratum=20, seed=12)
    report = balance_report(allocation, factors=FACTORS)
    assert isinstance(report, BalanceReport)
    assert [r.label for r in report.strata] == strata
    assert [r.label for r in report.margins] == ["site=S01", "site=S02", "band=lt35", "band=ge35"]
    assert report.overall.total == len(allocation)
    for r in report.strata:
        assert r.total == allocation.length(r.label)
    s01 = sum(allocation.length(s) for s in strata if s.startswith("site=S01"))
    assert report.margins[0].total == s01
    assert report.max_block_end_imbalance == 0
    assert report.max_stratum_imbalance == 0 and report.max_marginal_imbalance == 0


def test_imbalance_is_adjusted_for_the_allocation_ratio():
    arms = [("A", 2), ("B", 1)]
    balanced = balance_report([("all", "A")] * 4 + [("all", "B")] * 2, arms=arms)
    assert balanced.overall.imbalance == 0
    even = balance_report([("all", "A")] * 3 + [("all", "B")] * 3, arms=arms)
    assert even.overall.imbalance == 1.5  # 3/2 − 3/1 in ratio units


def test_plain_assignments_need_arms_and_known_arms():
    with pytest.raises(InvalidRandomizationSpec, match="needs arms"):
        balance_report([("all", "MSC")])
    with pytest.raises(InvalidRandomizationSpec, match="unknown arm 'XYZ'"):
        balance_report([("all", "XYZ")], arms=ARMS)
    plain = balance_report([("s", "MSC"), ("s", "MSC"), ("t", "PBO")], arms=ARMS)
    assert plain.strata[0].block_end_imbalance is None and plain.max_block_end_imbalance is None
    assert plain.overall.imbalance == 1


def test_used_counts_are_checked():
    with pytest.raises(InvalidRandomizationSpec, match="unknown strata"):
        balance_report(_hand_list(), used={"nowhere": 1})
    with pytest.raises(InvalidRandomizationSpec, match="0–6"):
        balance_report(_hand_list(), used={"all": 7})


def test_report_prints_as_a_table_and_serialises():
    report = balance_report(generate_block_list(ARMS, all_strata(FACTORS), per_stratum=6, seed=1), factors=FACTORS)
    text = str(report)
    lines = text.splitlines()
    assert lines[0].startswith("Balance report — arms MSC:PBO = 1:1")
    assert "site=S01|band=lt35" in text and "overall" in lines[-1]
    header = lines[1]
    assert "MSC" in header and "PBO" in header and "at block ends" in header
    data = json.loads(json.dumps(report.to_dict()))
    assert data["rows"][-1]["kind"] == "overall"
    frame = report.summary
    assert list(frame.columns[:4]) == ["kind", "label", "MSC", "PBO"]
    assert len(frame) == 4 + 4 + 1


def test_report_table_and_dict_of_a_hand_example():
    """Four entries of the hand list (MSC, PBO, MSC, MSC), 1:1: counts 3 and 1, imbalance 2, worst 2
    (after the fourth), one block end reached (after entry 2, where it was 0). The overall row has no
    running or block figures. Every figure and column width below follows from those counts."""
    report = balance_report(_hand_list(), used={"all": 4})
    assert str(report).splitlines() == [
        "Balance report — arms MSC:PBO = 1:1 (imbalance = max − min of count/ratio)",
        "group      MSC    PBO   total  imbalance  worst so far  at block ends",
        "-" * 69,
        "all          3      1       4          2             2              0",
        "-" * 69,
        "overall      3      1       4          2             —              —",
    ]
    stratum = {"kind": "stratum", "label": "all", "counts": {"MSC": 3, "PBO": 1}, "total": 4, "imbalance": 2.0}
    assert report.to_dict() == {
        "arms": [["MSC", 1], ["PBO", 1]],
        "rows": [
            {**stratum, "max_running_imbalance": 2.0, "block_end_imbalance": 0.0, "blocks": 1},
            {
                **stratum,
                "kind": "overall",
                "label": "overall",
                "max_running_imbalance": None,
                "block_end_imbalance": None,
                "blocks": None,
            },
        ],
    }


def test_margins_from_factor_names_only_with_a_2_to_1_ratio():
    """A, A in S01 and B in S02 (ratio A:B = 2:1, so one A weighs 1/2): S01 ends at 2/2 − 0 = 1 (worst 1),
    S02 at 1; margins appear in order of first use: site=S01 (1), band=lt35 (2/2 − 1/1 = 0),
    site=S02 (1); overall 0. Plain assignments have no block figures."""
    assignments = [("site=S01|band=lt35", "A"), ("site=S01|band=lt35", "A"), ("site=S02|band=lt35", "B")]
    report = balance_report(assignments, arms=[("A", 2), ("B", 1)], factors=["site", "band"])
    assert str(report).splitlines() == [
        "Balance report — arms A:B = 2:1 (imbalance = max − min of count/ratio)",
        "group                   A      B   total  imbalance  worst so far  at block ends",
        "-" * 80,
        "site=S01|band=lt35      2      0       2          1             1              —",
        "site=S02|band=lt35      0      1       1          1             1              —",
        "-" * 80,
        "site=S01                2      0       2          1             —              —",
        "band=lt35               2      1       3          0             —              —",
        "site=S02                0      1       1          1             —              —",
        "-" * 80,
        "overall                 2      1       3          0             —              —",
    ]
    assert [(r.blocks, r.block_end_imbalance) for r in report.strata] == [(None, None), (None, None)]
    assert [dict(r.counts) for r in report.margins] == [{"A": 2, "B": 0}, {"A": 2, "B": 1}, {"A": 0, "B": 1}]


def test_an_unused_stratum_has_zero_everywhere_and_no_block_end():
    """(An AllocationList refuses an unbalanced block, so a reached block end is always 0.)"""
    empty = balance_report(_hand_list(), used={"all": 0}).strata[0]
    assert (empty.total, empty.imbalance, empty.max_running_imbalance, empty.block_end_imbalance, empty.blocks) == (
        0,
        0.0,
        0.0,
        0.0,
        0,
    )


def test_arms_given_with_a_list_must_match_it_and_used_counts_are_whole_numbers():
    assert balance_report(_hand_list(), arms=ARMS).overall.total == 6
    with pytest.raises(InvalidRandomizationSpec) as err:
        balance_report(_hand_list(), arms=[("MSC", 2), ("PBO", 1)])
    assert str(err.value) == (
        "arms (('MSC', 2), ('PBO', 1)) differ from the allocation list's arms (('MSC', 1), ('PBO', 1))"
    )
    for bad in (True, 2.0, -1):
        with pytest.raises(InvalidRandomizationSpec, match=r"invalid used count for stratum 'all', expected 0–6"):
            balance_report(_hand_list(), used={"all": bad})
    with pytest.raises(InvalidRandomizationSpec) as err:
        balance_report([("all", "MSC")])
    assert str(err.value) == "balance_report needs arms=[(code, ratio), ...] for plain assignments"


def test_adjusted_counts_need_one_count_per_arm():
    from alstrial.domain.randomization.arms import ArmRatios

    ratios = ArmRatios.of([("A", 2), ("B", 1)])
    assert ratios.adjusted([4, 2]) == [2, 2]
    with pytest.raises(ValueError, match="zip"):
        ratios.adjusted([4, 2, 1])

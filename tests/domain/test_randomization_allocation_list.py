"""AllocationList: taking entries in order, exhaustion, export and re-import with checks."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from alstrial.domain.randomization import (
    COLUMNS,
    AllocationEntry,
    AllocationList,
    AllocationListExhausted,
    InvalidRandomizationSpec,
    RandomizationError,
    UnknownStratum,
    generate_block_list,
)

ARMS = [("MSC", 1), ("PBO", 1)]
STRATA = ["site=S01|alsfrs_r_band=lt35", "site=S01|alsfrs_r_band=ge35"]


@pytest.fixture(scope="module")
def allocation() -> AllocationList:
    return generate_block_list(ARMS, STRATA, per_stratum=8, seed=31)


def test_next_entry_walks_the_stratum_in_sequence_order(allocation):
    stratum = STRATA[1]
    taken = [allocation.next_entry(stratum, used) for used in range(allocation.length(stratum))]
    assert taken == list(allocation.for_stratum(stratum))
    assert [e.sequence for e in taken] == list(range(1, len(taken) + 1))
    assert all(e.stratum == stratum for e in taken)


def test_exhausting_a_stratum_raises_naming_stratum_and_length(allocation):
    stratum = STRATA[0]
    n = allocation.length(stratum)
    with pytest.raises(AllocationListExhausted) as info:
        allocation.next_entry(stratum, n)
    err = info.value
    assert isinstance(err, RandomizationError)
    assert err.stratum == stratum and err.length == n
    assert repr(stratum) in str(err) and f"all {n} entries" in str(err)
    with pytest.raises(AllocationListExhausted):
        allocation.next_entry(stratum, n + 5)


def test_unknown_stratum_and_bad_used_are_refused(allocation):
    with pytest.raises(UnknownStratum, match=r"unknown stratum 'site=S09'"):
        allocation.next_entry("site=S09", 0)
    with pytest.raises(InvalidRandomizationSpec, match="used"):
        allocation.next_entry(STRATA[0], -1)


def test_to_frame_has_exactly_the_documented_columns(allocation):
    frame = allocation.to_frame()
    assert list(frame.columns) == ["stratum", "sequence", "block", "block_size", "arm", "kit_code"]
    assert tuple(frame.columns) == COLUMNS
    assert len(frame) == len(allocation)
    assert frame["sequence"].dtype == "int64"
    first = allocation.entries[0]
    assert frame.iloc[0].to_dict() == first.to_dict()


def test_round_trip_through_a_frame_and_csv(allocation, tmp_path):
    path = tmp_path / "list.csv"
    allocation.to_frame().to_csv(path, index=False)
    back = AllocationList.from_frame(pd.read_csv(path, dtype=str), ARMS)
    assert back.entries == allocation.entries
    assert back.strata == allocation.strata


def _frame(allocation):
    return allocation.to_frame()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f.drop(columns=["kit_code"]), "lacks column"),
        (lambda f: f.assign(kit_code=f["kit_code"].iloc[0]), "kit codes must be unique"),
        (lambda f: f.drop(index=3), "expected sequence 4"),
        (lambda f: f.iloc[:-1], "expected"),  # ends inside a block
        (lambda f: f.assign(arm=f["arm"].where(f.index != 0, "XYZ")), "unknown arm 'XYZ'"),
        (lambda f: f.assign(arm="MSC"), "appears"),  # every block unbalanced
        (lambda f: f.assign(block_size=f["block_size"].where(f.index != 0, 3)), "block"),
        (lambda f: f.assign(sequence=f["sequence"].astype(str).where(f.index != 0, "one")), "row 1"),
    ],
    ids=["no-column", "dup-kit", "gap", "truncated", "bad-arm", "unbalanced", "bad-size", "bad-int"],
)
def test_from_frame_refuses_inconsistent_tables(allocation, mutate, message):
    frame = mutate(_frame(allocation)).reset_index(drop=True)
    with pytest.raises(InvalidRandomizationSpec, match=message):
        AllocationList.from_frame(frame, ARMS)


def test_entries_naming_an_undeclared_stratum_are_refused(allocation):
    with pytest.raises(UnknownStratum, match="not one of"):
        AllocationList.from_frame(allocation.to_frame(), ARMS, strata=[STRATA[0]])


def test_find_kit_returns_the_entry_and_refuses_unknown_codes(allocation):
    entry = allocation.entries[5]
    assert allocation.find_kit(entry.kit_code) == entry
    with pytest.raises(UnknownStratum, match="K-ZZZZZZ"):
        allocation.find_kit("K-ZZZZZZ")


def test_entries_and_list_are_immutable(allocation):
    with pytest.raises(dataclasses.FrozenInstanceError):
        allocation.entries[0].arm = "PBO"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        allocation.per_stratum = 3  # type: ignore[misc]
    assert isinstance(allocation.entries, tuple)


def test_to_dict_is_json_ready(allocation):
    import json

    data = json.loads(json.dumps(allocation.to_dict()))
    assert data["arms"] == [["MSC", 1], ["PBO", 1]]
    assert len(data["entries"]) == len(allocation)
    assert AllocationEntry(**data["entries"][0]) == allocation.entries[0]


def _small(**kw) -> AllocationList:
    """A:B = 2:1; stratum 's' one block of 3, stratum 't' two blocks of 3 (kit codes made up)."""
    arms = {"s": ["A", "A", "B"], "t": ["B", "A", "A", "A", "B", "A"]}
    entries = [
        AllocationEntry(stratum, i + 1, i // 3 + 1, 3, arm, f"K-{stratum.upper()}{i + 2}AAAA")
        for stratum, seq in arms.items()
        for i, arm in enumerate(seq)
    ]
    return AllocationList(arms=(("A", 2), ("B", 1)), strata=("s", "t"), entries=tuple(entries), **kw)


def test_printed_summary_and_dict_of_a_small_list():
    """9 entries, 3 in 's' and 6 in 't'; block sizes are the multiples × the ratio sum 3."""
    described = _small(per_stratum=4, block_multiples=(1, 2))
    assert str(described).splitlines() == [
        "Allocation list (permuted blocks)",
        "  arms           A:B = 2:1",
        "  strata         2",
        "  entries        9 (3–6 per stratum)",
        "  requested      4 per stratum, rounded up to whole blocks",
        "  block sizes    3, 6",
    ]
    assert str(_small()).splitlines()[3:] == ["  entries        9 (3–6 per stratum)"]
    data = described.to_dict()
    assert {k: v for k, v in data.items() if k != "entries"} == {
        "arms": [["A", 2], ["B", 1]],
        "strata": ["s", "t"],
        "per_stratum": 4,
        "block_multiples": [1, 2],
    }
    assert data["entries"][3] == {
        "stratum": "t",
        "sequence": 1,
        "block": 1,
        "block_size": 3,
        "arm": "B",
        "kit_code": "K-T2AAAA",
    }
    assert _small().to_dict()["block_multiples"] is None and _small().to_dict()["per_stratum"] is None


def test_an_empty_list_still_has_the_columns_and_prints():
    empty = AllocationList(arms=tuple(ARMS), strata=("s",), entries=())
    assert list(empty.to_frame().columns) == list(COLUMNS) and len(empty.to_frame()) == 0
    assert str(empty).splitlines()[3] == "  entries        0 (0–0 per stratum)"
    no_strata = AllocationList(arms=tuple(ARMS), strata=(), entries=())
    assert str(no_strata).splitlines()[2:] == ["  strata         0", "  entries        0 (0–0 per stratum)"]


def test_from_frame_takes_integers_of_any_kind_and_names_the_row_of_a_bad_one(allocation):
    assert AllocationList.from_frame(allocation.to_frame(), ARMS).entries == allocation.entries  # int64 columns
    frame = allocation.to_frame().astype({"sequence": object})
    frame.loc[0, "sequence"] = " 1 "
    frame.loc[1, "sequence"] = 2.0
    assert AllocationList.from_frame(frame, ARMS).entries == allocation.entries
    for bad, shown in ((True, "True"), (2.5, "2.5"), ("two", "'two'"), ("X5", "'X5'"), (None, "None")):
        frame.loc[1, "sequence"] = bad
        with pytest.raises(InvalidRandomizationSpec) as err:
            AllocationList.from_frame(frame, ARMS)
        assert str(err.value) == f"allocation table row 2: expected an integer (not {shown})"
    frame.loc[1, "sequence"] = "-2"  # a negative whole number is read, then refused as out of sequence
    with pytest.raises(InvalidRandomizationSpec, match=r"expected sequence 2, found -2$"):
        AllocationList.from_frame(frame, ARMS)


def test_used_must_be_a_whole_number_and_exhaustion_names_the_entry_asked_for(allocation):
    for bad in (True, 1.0, -1):
        with pytest.raises(InvalidRandomizationSpec) as err:
            allocation.next_entry(STRATA[0], bad)
        assert str(err.value) == f"invalid value for used, expected an integer ≥ 0 (not {bad!r})"
    n = allocation.length(STRATA[0])
    with pytest.raises(AllocationListExhausted) as info:
        allocation.next_entry(STRATA[0], n + 2)
    assert info.value.used == n + 2
    assert str(info.value) == (
        f"allocation list for stratum {STRATA[0]!r} is exhausted: all {n} entries are used "
        f"(asked for entry {n + 3}); generate a longer list — it is never extended silently"
    )

"""Kit codes: unique, one format for every arm, and carrying no information about the arm."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from scipy import stats

from alstrial.domain.randomization import KIT_ALPHABET, KIT_PREFIX, generate_block_list, is_kit_code
from alstrial.domain.randomization.kit_codes import kit_code_stream

ARMS = [("MSC", 1), ("PBO", 1)]
STRATA = [f"site=S{i:02d}" for i in range(1, 7)]


@pytest.fixture(scope="module")
def big_list():
    return generate_block_list(ARMS, STRATA, per_stratum=600, seed=20240601)


def test_alphabet_has_no_look_alike_characters():
    assert not set("01OI") & set(KIT_ALPHABET)
    assert len(set(KIT_ALPHABET)) == len(KIT_ALPHABET) == 32


def test_codes_are_unique_across_the_whole_list_and_share_one_format(big_list):
    codes = [e.kit_code for e in big_list]
    assert len(set(codes)) == len(codes)
    assert all(is_kit_code(c) for c in codes)
    assert {len(c) for c in codes} == {len(KIT_PREFIX) + 6}
    by_arm_lengths = {arm: {len(e.kit_code) for e in big_list if e.arm == arm} for arm, _ in ARMS}
    assert by_arm_lengths == {"MSC": {8}, "PBO": {8}}


def test_no_character_position_depends_on_the_arm(big_list):
    arms = np.array([e.arm for e in big_list])
    body = [e.kit_code[len(KIT_PREFIX) :] for e in big_list]
    p_values = []
    for pos in range(6):
        chars = np.array([c[pos] for c in body])
        table = np.array([[np.sum((chars == ch) & (arms == arm)) for ch in KIT_ALPHABET] for arm, _ in ARMS])
        p_values.append(stats.chi2_contingency(table).pvalue)
    # Bonferroni over 6 positions at an overall 0.1% level: only a real dependence fails
    assert min(p_values) > 0.001 / 6, p_values


def test_codes_are_the_same_whatever_the_arms_so_they_cannot_reveal_them():
    """The code stream never sees the arm sequence: changing ratio or arms leaves codes unchanged."""
    a = generate_block_list(ARMS, STRATA, per_stratum=30, seed=77)
    b = generate_block_list([("X", 2), ("Y", 1), ("Z", 1)], STRATA, per_stratum=30, seed=77)
    n = min(len(a), len(b))
    same_positions = [
        (x.kit_code, y.kit_code) for s in STRATA for x, y in zip(a.for_stratum(s), b.for_stratum(s), strict=False)
    ]
    assert n > 0 and all(x == y for x, y in same_positions)
    assert [e.arm for e in a] != [e.arm for e in b][: len(a)]


def test_codes_are_not_ordered_with_the_sequence(big_list):
    for stratum in STRATA:
        entries = big_list.for_stratum(stratum)
        rho = stats.spearmanr([e.sequence for e in entries], [e.kit_code for e in entries]).statistic
        assert abs(rho) < 0.2, (stratum, rho)


def test_characters_are_uniform_over_the_alphabet(big_list):
    counts = Counter("".join(e.kit_code[len(KIT_PREFIX) :] for e in big_list))
    observed = [counts[c] for c in KIT_ALPHABET]
    assert stats.chisquare(observed).pvalue > 1e-4


def test_kit_code_stream_respects_length_and_collisions_are_redrawn():
    rng = np.random.default_rng(0)
    codes = [next(kit_code_stream(rng, 10)) for _ in range(5)]
    assert all(is_kit_code(c, 10) for c in codes)
    assert not is_kit_code("K-0000000000", 10)
    assert not is_kit_code("X-ABCDEF")
    # a tiny code space forces collisions; every code must still be unique
    allocation = generate_block_list(ARMS, ["a", "b", "c"], per_stratum=2000, seed=3, kit_code_length=4)
    codes = [e.kit_code for e in allocation]
    assert len(set(codes)) == len(codes)


def test_every_alphabet_character_is_drawn():
    """100 codes × 6 characters = 600 uniform draws over 32 characters: the chance that a given one
    never appears is (31/32)**600 ≈ 5e-9, so a missing character (an off-by-one range) fails."""
    codes = kit_code_stream(np.random.default_rng(4), 6)
    drawn = {c for _ in range(100) for c in next(codes)[len(KIT_PREFIX) :]}
    assert drawn == set(KIT_ALPHABET)

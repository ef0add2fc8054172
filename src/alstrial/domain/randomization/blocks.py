"""Stratified permuted-block randomization with randomly chosen block sizes.

Each stratum gets its own list: blocks whose size is drawn at random from
``multiple × (sum of the allocation ratio)``, each block a random permutation holding every
arm exactly ``multiple × ratio`` times. Random sizes keep the end of a block unguessable at
a site; whole blocks keep every stratum balanced at every block boundary.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from numbers import Integral

import numpy as np

from alstrial.domain.randomization.allocation_list import AllocationEntry, AllocationList
from alstrial.domain.randomization.arms import ArmRatios, validate_block_multiples
from alstrial.domain.randomization.errors import InvalidRandomizationSpec
from alstrial.domain.randomization.kit_codes import (
    DEFAULT_KIT_CODE_LENGTH,
    KIT_ALPHABET,
    kit_code_stream,
    validate_kit_code_length,
)
from alstrial.domain.randomization.seeding import stream, validate_seed

#: Stream purposes: arms and kit codes come from unrelated generators.
_ARM_STREAM = "permuted-blocks/arms/v1"
_KIT_STREAM = "permuted-blocks/kit-codes/v1"
#: A guard against typing an extra zero: a million allocations per stratum is beyond any trial.
MAX_PER_STRATUM = 1_000_000


def permuted_blocks(
    ratios: ArmRatios, block_multiples: Sequence[int], rng: np.random.Generator
) -> Iterator[tuple[int, list[str]]]:
    """An endless stream of ``(block_size, arms in block order)``.

    Draws are sequential (size, then permutation, block after block), so a longer list from
    the same seed starts with exactly the blocks of a shorter one.
    """
    multiples = np.array(validate_block_multiples(block_multiples))
    while True:
        multiple = int(multiples[rng.integers(0, len(multiples))])
        pool = [code for code, ratio in ratios.pairs() for _ in range(ratio * multiple)]
        order = rng.permutation(len(pool))
        yield len(pool), [pool[int(j)] for j in order]


def generate_block_list(
    arms: Sequence[tuple[str, int]],
    strata: Sequence[str],
    *,
    per_stratum: int,
    seed: int,
    block_multiples: Sequence[int] = (1, 2, 3),
    kit_code_length: int = DEFAULT_KIT_CODE_LENGTH,
) -> AllocationList:
    """A stratified permuted-block allocation list, reproducible from ``seed``.

    ``arms`` is ``[(code, ratio), ...]`` (any number of arms ≥ 2, any positive integer
    ratio); block sizes are ``m × sum(ratios)`` for ``m`` drawn uniformly from
    ``block_multiples`` (default 1, 2, 3: sizes 2/4/6 for 1:1, 3/6/9 for 2:1).

    Each stratum receives whole blocks until it holds at least ``per_stratum`` entries, so
    its list ends at a block boundary and may be longer than asked, by at most the largest
    block size minus one. The stratum's arm sequence depends only on ``seed`` and the
    stratum key (never on Python's salted ``hash``, nor on the other strata), and a larger
    ``per_stratum`` extends it without changing its beginning.

    Kit codes come from a separate stream per stratum, so they carry no information about
    the arm; the rare code that repeats one already issued (strata taken in order) is redrawn.
    """
    ratios = ArmRatios.of(arms)
    multiples = validate_block_multiples(block_multiples)
    seed = validate_seed(seed)
    length = validate_kit_code_length(kit_code_length)
    if isinstance(per_stratum, bool) or not isinstance(per_stratum, Integral) or per_stratum < 1:
        raise InvalidRandomizationSpec(f"invalid value for per_stratum, expected an integer ≥ 1 (not {per_stratum!r})")
    if isinstance(strata, str | bytes) or not isinstance(strata, Sequence) or len(strata) == 0:
        raise InvalidRandomizationSpec(
            f"invalid value for strata, expected a non-empty sequence of stratum keys (not {strata!r})"
        )
    if per_stratum > MAX_PER_STRATUM:
        raise InvalidRandomizationSpec(
            f"invalid value for per_stratum, expected at most {MAX_PER_STRATUM:,} (not {per_stratum!r})"
        )
    strata = list(strata)
    capacity = len(KIT_ALPHABET) ** length
    worst_case = len(strata) * (per_stratum + max(multiples) * ratios.ratio_sum)
    if worst_case > capacity // 2:
        raise InvalidRandomizationSpec(
            f"kit_code_length {length} allows {capacity:,} codes, too few for up to {worst_case:,} "
            "unique kit codes; use a longer kit_code_length"
        )
    for s in strata:
        if not isinstance(s, str) or not s:
            raise InvalidRandomizationSpec(f"invalid stratum key, expected a non-empty string (not {s!r})")
    if len(set(strata)) != len(strata):
        raise InvalidRandomizationSpec(f"duplicate stratum keys in strata {strata!r}")

    entries: list[AllocationEntry] = []
    issued: set[str] = set()
    for stratum in strata:
        blocks = permuted_blocks(ratios, multiples, stream(seed, _ARM_STREAM, stratum))
        codes = kit_code_stream(stream(seed, _KIT_STREAM, stratum), length)
        sequence = 0
        block_no = 0
        while sequence < per_stratum:
            size, block_arms = next(blocks)
            block_no += 1
            for arm in block_arms:
                sequence += 1
                code = next(codes)
                while code in issued:
                    code = next(codes)
                issued.add(code)
                entries.append(AllocationEntry(stratum, sequence, block_no, size, arm, code))
    return AllocationList(
        arms=ratios.pairs(),
        strata=tuple(strata),
        entries=tuple(entries),
        per_stratum=int(per_stratum),
        seed=seed,
        block_multiples=multiples,
    )

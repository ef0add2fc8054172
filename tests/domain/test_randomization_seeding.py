"""Random streams (``domain/randomization/seeding.py``) follow their documented recipe exactly, so an
allocation list can be regenerated from its seed on any machine and any later version.

The expected generators are rebuilt here from the recipe in the module's docstrings, with ``struct``
and ``int.to_bytes`` instead of the module's shifts and slices: the seed as four 32-bit words (least
significant first), then SHA-256 of the purpose and of the name, each read as eight little-endian
32-bit words, then the extra integers, mixed by numpy's SeedSequence into PCG64. The counter draw is
BLAKE2b (8 bytes) of ``"purpose|seed|index"``, read big-endian, top 53 bits over 2**53."""

from __future__ import annotations

import hashlib
import struct

import numpy as np
import pytest

from alstrial.domain.randomization import InvalidRandomizationSpec
from alstrial.domain.randomization.seeding import MAX_SEED, counter_uniform, stream, validate_seed

#: Every one of the four 32-bit seed words is different and non-zero (so a lost or shifted word shows).
SEED = 0x0123_4567_89AB_CDEF_1122_3344_5566_7788


def _recipe(seed: int, purpose: str, name: str, *extra: int) -> np.random.Generator:
    words = list(struct.unpack("<4I", seed.to_bytes(16, "little")))
    for text in (purpose, name):
        words += struct.unpack("<8I", hashlib.sha256(text.encode("utf-8")).digest())
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([*words, *extra])))


@pytest.mark.parametrize(
    ("seed", "purpose", "name", "extra"),
    [(SEED, "arms", "site=S01|band=ge35", ()), (7, "kits", "é-stratum", (3, 9)), (MAX_SEED, "arms", "", ())],
)
def test_stream_is_the_documented_recipe(seed, purpose, name, extra) -> None:
    got = stream(seed, purpose, name, *extra).integers(0, 2**63, size=8)
    assert got.tolist() == _recipe(seed, purpose, name, *extra).integers(0, 2**63, size=8).tolist()


def test_streams_differ_by_every_part_of_the_key() -> None:
    def draws(*key) -> list[int]:
        return stream(*key).integers(0, 2**63, size=4).tolist()

    base = draws(SEED, "arms", "s")
    assert base != draws(SEED + 1, "arms", "s")
    assert base != draws(SEED + (1 << 96), "arms", "s")  # the top seed word counts
    assert base != draws(SEED, "kits", "s")
    assert base != draws(SEED, "arms", "t")
    assert base != draws(SEED, "arms", "s", 1)


@pytest.mark.parametrize(("seed", "purpose", "index"), [(SEED, "minimization", 0), (5, "tie", 12345)])
def test_counter_uniform_is_the_documented_recipe(seed, purpose, index) -> None:
    digest = hashlib.blake2b(f"{purpose}|{seed}|{index}".encode(), digest_size=8).digest()
    (word,) = struct.unpack(">Q", digest)
    assert counter_uniform(seed, purpose, index) == (word >> 11) / 2**53


@pytest.mark.parametrize("bad", [-1, MAX_SEED + 1, True, 1.0, "1"])
def test_invalid_seeds_are_refused_by_value(bad) -> None:
    with pytest.raises(InvalidRandomizationSpec) as err:
        validate_seed(bad)
    assert str(err.value) == f"invalid value for seed, expected an integer between 0 and 2**128 - 1 (not {bad!r})"
    with pytest.raises(InvalidRandomizationSpec):
        stream(bad, "arms", "s")  # type: ignore[arg-type]


def test_seed_bounds_are_accepted() -> None:
    assert (validate_seed(0), validate_seed(MAX_SEED), validate_seed(np.int64(3))) == (0, 2**128 - 1, 3)

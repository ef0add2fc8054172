"""Random streams derived from a seed and a name, stable across runs, machines and Python versions.

Python's ``hash()`` of a string is salted per process, so it must never feed a seed: the
same seed has to give the same allocation list next year on another computer. Each stream
is keyed by SHA-256 of its name instead, which also keeps one stratum's list unchanged when
other strata are added to the design.
"""

from __future__ import annotations

import hashlib
from numbers import Integral

import numpy as np

from alstrial.domain.randomization.errors import InvalidRandomizationSpec

#: Largest seed accepted: it must fit the 128 bits that numpy's SeedSequence mixes well.
MAX_SEED = 2**128 - 1


def validate_seed(seed: object) -> int:
    """A non-negative integer seed (booleans and floats are refused: they are usually mistakes)."""
    if isinstance(seed, bool) or not isinstance(seed, Integral) or not 0 <= int(seed) <= MAX_SEED:
        raise InvalidRandomizationSpec(
            f"invalid value for seed, expected an integer between 0 and 2**128 - 1 (not {seed!r})"
        )
    return int(seed)


def _name_words(name: str) -> list[int]:
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return [int.from_bytes(digest[i : i + 4], "little") for i in range(0, len(digest), 4)]


def stream(seed: int, purpose: str, name: str, *extra: int) -> np.random.Generator:
    """An independent generator for ``(seed, purpose, name, *extra)``.

    ``purpose`` separates uses of the same name (the arm sequence of a stratum and its kit
    codes), so that, for example, kit codes carry no information about arms.
    """
    seed = validate_seed(seed)
    seed_words = [(seed >> (32 * i)) & 0xFFFFFFFF for i in range(4)]
    entropy = [*seed_words, *_name_words(purpose), *_name_words(name), *extra]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


def counter_uniform(seed: int, purpose: str, index: int) -> float:
    """A uniform draw in [0, 1) that depends only on ``(seed, purpose, index)``.

    A counter-based generator (BLAKE2b of the three, 53 bits kept): the ``index``-th draw
    needs no earlier draw, so a state rebuilt from history continues exactly, and it costs
    about a microsecond where building a seeded numpy generator costs tens.
    """
    digest = hashlib.blake2b(f"{purpose}|{validate_seed(seed)}|{index}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") >> 11) / float(1 << 53)

"""Treatment kit codes that reveal nothing about the arm they label.

Every code has the same prefix, length and alphabet whatever the arm, is drawn from a
random stream that never sees the arm sequence, and is unique across the whole list, so
neither a code's shape nor its order tells a site which treatment is inside the kit.
"""

from __future__ import annotations

from collections.abc import Iterator
from numbers import Integral

import numpy as np

from alstrial.domain.randomization.errors import InvalidRandomizationSpec

#: Digits and capitals without the look-alikes 0/O, 1/I (and L is kept: no lowercase l is used).
KIT_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
KIT_PREFIX = "K-"
DEFAULT_KIT_CODE_LENGTH = 6
#: Fewer random characters would make collisions (and redraws) common in a large list.
MIN_KIT_CODE_LENGTH = 4
_BATCH = 64


def validate_kit_code_length(length: object) -> int:
    if isinstance(length, bool) or not isinstance(length, Integral) or not (MIN_KIT_CODE_LENGTH <= int(length) <= 32):
        raise InvalidRandomizationSpec(
            f"invalid value for kit_code_length, expected an integer from {MIN_KIT_CODE_LENGTH} to 32 (not {length!r})"
        )
    return int(length)


def kit_code_stream(rng: np.random.Generator, length: int = DEFAULT_KIT_CODE_LENGTH) -> Iterator[str]:
    """An endless stream of codes such as ``K-7Q3M9X``, uniform over the alphabet.

    Codes are drawn in fixed batches (the batch size is part of the stream's definition:
    changing it would change every list generated from a seed).
    """
    length = validate_kit_code_length(length)
    alphabet = np.array(list(KIT_ALPHABET))
    while True:
        batch = alphabet[rng.integers(0, len(KIT_ALPHABET), size=(_BATCH, length))]
        for row in batch.tolist():
            yield KIT_PREFIX + "".join(row)


def is_kit_code(code: str, length: int = DEFAULT_KIT_CODE_LENGTH) -> bool:
    """True when ``code`` has the shape this module generates (for validating uploaded lists)."""
    return (
        isinstance(code, str)
        and code.startswith(KIT_PREFIX)
        and len(code) == len(KIT_PREFIX) + length
        and all(c in KIT_ALPHABET for c in code[len(KIT_PREFIX) :])
    )

"""Validated treatment arms with their allocation ratio, shared by block lists and minimization."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from numbers import Integral

from alstrial.domain.randomization.errors import InvalidRandomizationSpec


@dataclass(frozen=True)
class ArmRatios:
    """Arm codes in protocol order with their positive integer allocation ratios.

    Ratios are kept as given (2:2 is not reduced to 1:1): the ratio sum is the smallest
    block a statistician asked for, and silently changing it would change the design.
    """

    codes: tuple[str, ...]
    ratios: tuple[int, ...]

    @classmethod
    def of(cls, arms: Sequence[tuple[str, int]]) -> ArmRatios:
        """Validate ``[(code, ratio), ...]``: at least two arms, unique non-empty codes, ratios ≥ 1."""
        if isinstance(arms, str | bytes) or not isinstance(arms, Sequence):
            raise InvalidRandomizationSpec(
                f"invalid value for arms, expected a sequence of (code, ratio) pairs (not {arms!r})"
            )
        arms = list(arms)
        if len(arms) < 2:
            raise InvalidRandomizationSpec(
                f"invalid value for arms, expected at least two (code, ratio) pairs (not {arms!r})"
            )
        codes: list[str] = []
        ratios: list[int] = []
        for item in arms:
            if not (isinstance(item, tuple | list) and len(item) == 2):
                raise InvalidRandomizationSpec(f"invalid arm, expected a (code, ratio) pair (not {item!r})")
            code, ratio = item
            if not isinstance(code, str) or not code.strip() or code != code.strip():
                raise InvalidRandomizationSpec(
                    f"invalid arm code, expected a non-empty string without surrounding spaces (not {code!r})"
                )
            if isinstance(ratio, bool) or not isinstance(ratio, Integral) or int(ratio) < 1:
                raise InvalidRandomizationSpec(
                    f"invalid allocation ratio for arm {code!r}, expected an integer ≥ 1 (not {ratio!r})"
                )
            if code in codes:
                raise InvalidRandomizationSpec(f"duplicate arm code {code!r} in arms {arms!r}")
            codes.append(code)
            ratios.append(int(ratio))
        return cls(tuple(codes), tuple(ratios))

    @property
    def ratio_sum(self) -> int:
        return sum(self.ratios)

    def pairs(self) -> tuple[tuple[str, int], ...]:
        return tuple(zip(self.codes, self.ratios, strict=True))

    def ratio_of(self, code: str) -> int:
        return self.ratios[self.codes.index(code)]

    def adjusted(self, counts: Sequence[int]) -> list[Fraction]:
        """Counts divided by each arm's ratio: equal values mean allocation exactly at the ratio."""
        return [Fraction(n, r) for n, r in zip(counts, self.ratios, strict=True)]

    def label(self) -> str:
        """``MSC:PBO = 1:1`` — the ratio as a statistician writes it."""
        return f"{':'.join(self.codes)} = {':'.join(str(r) for r in self.ratios)}"


def validate_block_multiples(block_multiples: Sequence[int]) -> tuple[int, ...]:
    """Distinct positive integers; each times the ratio sum is one allowed block size."""
    if isinstance(block_multiples, str | bytes) or not isinstance(block_multiples, Sequence):
        raise InvalidRandomizationSpec(
            f"invalid value for block_multiples, expected a sequence of integers ≥ 1 (not {block_multiples!r})"
        )
    values = list(block_multiples)
    if not values:
        raise InvalidRandomizationSpec("invalid value for block_multiples, expected at least one multiple (not [])")
    for m in values:
        if isinstance(m, bool) or not isinstance(m, Integral) or int(m) < 1:
            raise InvalidRandomizationSpec(
                f"invalid block multiple {m!r} in block_multiples {values!r}, expected integers ≥ 1"
            )
    if len(set(values)) != len(values):
        raise InvalidRandomizationSpec(
            f"invalid value for block_multiples, expected distinct integers (not {values!r})"
        )
    return tuple(int(m) for m in values)

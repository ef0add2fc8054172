"""The allocation list: ordered, concealed entries per stratum that the capture layer consumes.

The capture layer never sees arms ahead of time; it asks for "the next entry of stratum S
given that U are used" and stores the entry it gets. Running out is an error, never a
silent extension: a longer list is a new list that the statistician generates and files.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral
from typing import Any

import pandas as pd

from alstrial.domain.randomization.arms import ArmRatios
from alstrial.domain.randomization.errors import (
    AllocationListExhausted,
    InvalidRandomizationSpec,
    UnknownStratum,
)

#: Column order of :meth:`AllocationList.to_frame` and of the CSV the CLI writes.
COLUMNS = ("stratum", "sequence", "block", "block_size", "arm", "kit_code")


@dataclass(frozen=True)
class AllocationEntry:
    """One line of the list: the ``sequence``-th allocation (1-based) of ``stratum``.

    ``block`` is the 1-based block number within the stratum and ``block_size`` its size,
    so a reader can check that every block holds each arm in the allocation ratio.
    """

    stratum: str
    sequence: int
    block: int
    block_size: int
    arm: str
    kit_code: str

    def to_dict(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in COLUMNS}


@dataclass(frozen=True)
class AllocationList:
    """A generated (or loaded) list of allocations, grouped by stratum in design order.

    Construct it with :func:`generate_block_list` or :meth:`from_frame`; the constructor
    checks that the entries are consistent (contiguous sequences, unique kit codes, each
    block holding every arm in the allocation ratio).
    """

    arms: tuple[tuple[str, int], ...]
    strata: tuple[str, ...]
    entries: tuple[AllocationEntry, ...] = field(repr=False)
    per_stratum: int | None = None
    seed: int | None = field(default=None, repr=False)
    block_multiples: tuple[int, ...] | None = None
    _by_stratum: Mapping[str, tuple[AllocationEntry, ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        ratios = ArmRatios.of(list(self.arms))
        object.__setattr__(self, "arms", ratios.pairs())
        object.__setattr__(self, "strata", tuple(self.strata))
        object.__setattr__(self, "entries", tuple(self.entries))
        if len(set(self.strata)) != len(self.strata):
            raise InvalidRandomizationSpec(f"duplicate strata in {list(self.strata)!r}")
        grouped: dict[str, list[AllocationEntry]] = {s: [] for s in self.strata}
        for e in self.entries:
            if e.stratum not in grouped:
                raise UnknownStratum(f"entry {e!r} names stratum {e.stratum!r}, not one of {list(self.strata)!r}")
            grouped[e.stratum].append(e)
        codes = [e.kit_code for e in self.entries]
        if len(set(codes)) != len(codes):
            dup = sorted({c for c in codes if codes.count(c) > 1})
            raise InvalidRandomizationSpec(f"kit codes must be unique across the list; repeated: {dup!r}")
        for stratum, items in grouped.items():
            _check_stratum(stratum, items, ratios)
        object.__setattr__(self, "_by_stratum", {s: tuple(v) for s, v in grouped.items()})

    # -- what the capture layer uses -------------------------------------------------------
    def next_entry(self, stratum: str, used: int) -> AllocationEntry:
        """The entry to allocate when ``used`` entries of ``stratum`` are already taken.

        Raises :class:`UnknownStratum` for a stratum the list does not have and
        :class:`AllocationListExhausted` when all its entries are used.
        """
        items = self.for_stratum(stratum)
        if isinstance(used, bool) or not isinstance(used, Integral) or used < 0:
            raise InvalidRandomizationSpec(f"invalid value for used, expected an integer ≥ 0 (not {used!r})")
        if used >= len(items):
            raise AllocationListExhausted(stratum, len(items), int(used))
        return items[int(used)]

    def for_stratum(self, stratum: str) -> tuple[AllocationEntry, ...]:
        """All entries of one stratum in sequence order."""
        try:
            return self._by_stratum[stratum]
        except (KeyError, TypeError):
            raise UnknownStratum(
                f"unknown stratum {stratum!r}; this list has {len(self.strata)} strata: {list(self.strata)!r}"
            ) from None

    def length(self, stratum: str) -> int:
        return len(self.for_stratum(stratum))

    def find_kit(self, kit_code: str) -> AllocationEntry:
        """The entry carrying ``kit_code`` (for reconciling a dispensed kit)."""
        for e in self.entries:
            if e.kit_code == kit_code:
                return e
        raise UnknownStratum(f"kit code {kit_code!r} is not in this allocation list")

    # -- export / import ---------------------------------------------------------------------
    @property
    def arm_codes(self) -> tuple[str, ...]:
        return tuple(code for code, _ in self.arms)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[AllocationEntry]:
        return iter(self.entries)

    def to_frame(self) -> pd.DataFrame:
        """One row per entry, columns ``stratum, sequence, block, block_size, arm, kit_code``."""
        frame = pd.DataFrame([e.to_dict() for e in self.entries], columns=list(COLUMNS))
        return frame.astype(
            {
                "stratum": str,
                "sequence": "int64",
                "block": "int64",
                "block_size": "int64",
                "arm": str,
                "kit_code": str,
            }
        )

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        arms: Sequence[tuple[str, int]],
        *,
        strata: Sequence[str] | None = None,
    ) -> AllocationList:
        """Rebuild a list from :meth:`to_frame` output (e.g. a CSV a statistician filed).

        ``strata`` gives the design's strata in order; by default, their order of first
        appearance. Every consistency rule of the constructor is checked.
        """
        missing = [c for c in COLUMNS if c not in frame.columns]
        if missing:
            raise InvalidRandomizationSpec(
                f"allocation table lacks column(s) {missing!r}; expected columns {list(COLUMNS)!r}"
            )
        entries: list[AllocationEntry] = []
        for i, row in enumerate(frame[list(COLUMNS)].itertuples(index=False), start=1):
            try:
                entries.append(
                    AllocationEntry(
                        stratum=str(row.stratum),
                        sequence=_as_int(row.sequence),
                        block=_as_int(row.block),
                        block_size=_as_int(row.block_size),
                        arm=str(row.arm),
                        kit_code=str(row.kit_code),
                    )
                )
            except (TypeError, ValueError) as exc:
                raise InvalidRandomizationSpec(f"allocation table row {i}: {exc}") from None
        order = list(strata) if strata is not None else list(dict.fromkeys(e.stratum for e in entries))
        return cls(arms=tuple(arms), strata=tuple(order), entries=tuple(entries))

    def __str__(self) -> str:
        ratios = ArmRatios.of(list(self.arms))
        total = len(self.entries)
        lengths = [len(self._by_stratum[s]) for s in self.strata]
        lines = [
            "Allocation list (permuted blocks)",
            f"  arms           {ratios.label()}",
            f"  strata         {len(self.strata)}",
            f"  entries        {total} ({min(lengths, default=0)}–{max(lengths, default=0)} per stratum)",
        ]
        if self.per_stratum is not None:
            lines.append(f"  requested      {self.per_stratum} per stratum, rounded up to whole blocks")
        if self.block_multiples is not None:
            sizes = ", ".join(str(m * ratios.ratio_sum) for m in self.block_multiples)
            lines.append(f"  block sizes    {sizes}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "arms": [list(a) for a in self.arms],
            "strata": list(self.strata),
            "per_stratum": self.per_stratum,
            "block_multiples": list(self.block_multiples) if self.block_multiples is not None else None,
            "entries": [e.to_dict() for e in self.entries],
        }


def _as_int(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected an integer (not {value!r})")
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise ValueError(f"expected an integer (not {value!r})")


def _check_stratum(stratum: str, items: Iterable[AllocationEntry], ratios: ArmRatios) -> None:
    """Sequences 1..n; blocks numbered 1.. in order, each complete and in the allocation ratio."""
    items = list(items)
    where = f"stratum {stratum!r}"
    for expected, e in enumerate(items, start=1):
        if e.sequence != expected:
            raise InvalidRandomizationSpec(f"{where}: expected sequence {expected}, found {e.sequence!r}")
        if e.arm not in ratios.codes:
            raise InvalidRandomizationSpec(
                f"{where}, sequence {e.sequence}: unknown arm {e.arm!r}, expected one of {list(ratios.codes)!r}"
            )
    expected_block = 1
    i = 0
    while i < len(items):
        first = items[i]
        size = first.block_size
        if first.block != expected_block:
            raise InvalidRandomizationSpec(
                f"{where}, sequence {first.sequence}: expected block {expected_block}, found {first.block!r}"
            )
        if size < 1 or size % ratios.ratio_sum != 0:
            raise InvalidRandomizationSpec(
                f"{where}, block {first.block}: block size {size!r} is not a multiple of the ratio sum "
                f"{ratios.ratio_sum}"
            )
        block = items[i : i + size]
        if len(block) != size or any(e.block != first.block or e.block_size != size for e in block):
            raise InvalidRandomizationSpec(
                f"{where}, block {first.block}: expected {size} entries with block_size {size}, "
                f"found {sum(1 for e in block if e.block == first.block)}"
            )
        multiple = size // ratios.ratio_sum
        for code, ratio in ratios.pairs():
            n = sum(1 for e in block if e.arm == code)
            if n != multiple * ratio:
                raise InvalidRandomizationSpec(
                    f"{where}, block {first.block}: arm {code!r} appears {n} times, expected "
                    f"{multiple * ratio} for ratio {ratios.label()}"
                )
        i += size
        expected_block += 1

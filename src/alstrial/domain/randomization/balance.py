"""Balance of allocations per stratum, per factor level and overall.

Imbalance is measured on ratio-adjusted counts (count ÷ allocation ratio): ``max − min``
is 0 when arms are exactly in the allocation ratio, and for 1:1 it is simply the
difference in participants. For a permuted-block list it must be 0 at every block end.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from alstrial.domain.randomization.allocation_list import AllocationEntry, AllocationList
from alstrial.domain.randomization.arms import ArmRatios
from alstrial.domain.randomization.errors import InvalidRandomizationSpec
from alstrial.domain.randomization.strata import FactorSpec, normalise_factors, parse_stratum_key

RowKind = Literal["stratum", "margin", "overall"]


@dataclass(frozen=True)
class BalanceRow:
    """Counts per arm for one group of allocations and how far they are from the ratio.

    ``max_running_imbalance`` is the worst imbalance after any number of allocations (what
    a trial stopping mid-block could see); ``block_end_imbalance`` the worst at the ends of
    complete blocks, which a correct permuted-block list keeps at 0. Both are ``None``
    where they do not apply (margins, or assignments given without block structure).
    """

    kind: RowKind
    label: str
    counts: Mapping[str, int]
    imbalance: float
    max_running_imbalance: float | None = None
    block_end_imbalance: float | None = None
    blocks: int | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "label": self.label,
            "counts": dict(self.counts),
            "total": self.total,
            "imbalance": self.imbalance,
            "max_running_imbalance": self.max_running_imbalance,
            "block_end_imbalance": self.block_end_imbalance,
            "blocks": self.blocks,
        }


@dataclass(frozen=True)
class BalanceReport:
    """Balance per stratum, per factor level (when factors were given) and overall."""

    arms: tuple[tuple[str, int], ...]
    rows: tuple[BalanceRow, ...]

    @property
    def strata(self) -> tuple[BalanceRow, ...]:
        return tuple(r for r in self.rows if r.kind == "stratum")

    @property
    def margins(self) -> tuple[BalanceRow, ...]:
        return tuple(r for r in self.rows if r.kind == "margin")

    @property
    def overall(self) -> BalanceRow:
        return next(r for r in self.rows if r.kind == "overall")

    @property
    def max_block_end_imbalance(self) -> float | None:
        """Worst imbalance at any block end of any stratum (0 for a correct block list)."""
        values = [r.block_end_imbalance for r in self.strata if r.block_end_imbalance is not None]
        return max(values) if values else None

    @property
    def max_stratum_imbalance(self) -> float:
        return max((r.imbalance for r in self.strata), default=0.0)

    @property
    def max_marginal_imbalance(self) -> float | None:
        return max((r.imbalance for r in self.margins), default=None)

    @property
    def summary(self) -> pd.DataFrame:
        """One row per group: ``kind, label``, a count column per arm, ``total`` and imbalances."""
        codes = [c for c, _ in self.arms]
        records = []
        for r in self.rows:
            rec: dict[str, Any] = {"kind": r.kind, "label": r.label}
            rec.update({c: r.counts[c] for c in codes})
            rec.update(
                total=r.total,
                imbalance=r.imbalance,
                max_running_imbalance=r.max_running_imbalance,
                block_end_imbalance=r.block_end_imbalance,
            )
            records.append(rec)
        columns = [
            "kind",
            "label",
            *codes,
            "total",
            "imbalance",
            "max_running_imbalance",
            "block_end_imbalance",
        ]
        return pd.DataFrame(records, columns=columns)

    def to_dict(self) -> dict[str, Any]:
        return {"arms": [list(a) for a in self.arms], "rows": [r.to_dict() for r in self.rows]}

    def __str__(self) -> str:
        ratios = ArmRatios.of(list(self.arms))
        codes = list(ratios.codes)
        width = max([len("group"), *(len(r.label) for r in self.rows)])
        arm_w = [max(len(c), 5) for c in codes]

        def fmt(value: float | None) -> str:
            return "—" if value is None else f"{value:g}"

        header = (
            f"{'group':<{width}}  "
            + "  ".join(f"{c:>{w}}" for c, w in zip(codes, arm_w, strict=True))
            + f"  {'total':>6}  {'imbalance':>9}  {'worst so far':>12}  {'at block ends':>13}"
        )
        lines = [
            f"Balance report — arms {ratios.label()} (imbalance = max − min of count/ratio)",
            header,
            "-" * len(header),
        ]
        previous: str | None = None
        for r in self.rows:
            if previous is not None and r.kind != previous:
                lines.append("-" * len(header))
            previous = r.kind
            lines.append(
                f"{r.label:<{width}}  "
                + "  ".join(f"{r.counts[c]:>{w}}" for c, w in zip(codes, arm_w, strict=True))
                + f"  {r.total:>6}  {fmt(r.imbalance):>9}  {fmt(r.max_running_imbalance):>12}"
                + f"  {fmt(r.block_end_imbalance):>13}"
            )
        return "\n".join(lines)


def _imbalance(ratios: ArmRatios, counts: Sequence[int]) -> float:
    adjusted = ratios.adjusted(counts)
    return float(max(adjusted) - min(adjusted))


def balance_report(
    allocations: AllocationList | Iterable[tuple[str, str]],
    *,
    arms: Sequence[tuple[str, int]] | None = None,
    used: Mapping[str, int] | None = None,
    factors: FactorSpec | None = None,
) -> BalanceReport:
    """Balance of an allocation list, or of ``(stratum, arm)`` assignments in order.

    For an :class:`AllocationList`, ``used`` limits each stratum to its first ``n`` entries
    (what has actually been allocated; strata not named count in full). For plain
    assignments, ``arms`` is required. With ``factors`` (protocol order), stratum keys are
    parsed and one row per factor level shows the marginal balance minimization targets.
    """
    if isinstance(allocations, AllocationList):
        ratios = ArmRatios.of(list(arms) if arms is not None else list(allocations.arms))
        if ratios.pairs() != allocations.arms:
            raise InvalidRandomizationSpec(
                f"arms {ratios.pairs()!r} differ from the allocation list's arms {allocations.arms!r}"
            )
        used = dict(used or {})
        unknown = [s for s in used if s not in allocations.strata]
        if unknown:
            raise InvalidRandomizationSpec(f"used names unknown strata {unknown!r}")
        sequences: dict[str, list[tuple[str, bool]]] = {}
        for stratum in allocations.strata:
            items = allocations.for_stratum(stratum)
            n = used.get(stratum, len(items))
            if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= len(items):
                raise InvalidRandomizationSpec(
                    f"invalid used count for stratum {stratum!r}, expected 0–{len(items)} (not {n!r})"
                )
            sequences[stratum] = [(e.arm, _ends_block(items, i)) for i, e in enumerate(items[:n])]
        has_blocks = True
    else:
        if arms is None:
            raise InvalidRandomizationSpec("balance_report needs arms=[(code, ratio), ...] for plain assignments")
        ratios = ArmRatios.of(arms)
        sequences = {}
        for item in allocations:
            stratum, arm = item
            if arm not in ratios.codes:
                raise InvalidRandomizationSpec(
                    f"unknown arm {arm!r} in stratum {stratum!r}, expected one of {list(ratios.codes)!r}"
                )
            sequences.setdefault(stratum, []).append((arm, False))
        has_blocks = False

    codes = ratios.codes
    rows: list[BalanceRow] = []
    total = dict.fromkeys(codes, 0)
    margin_counts: dict[tuple[str, str], dict[str, int]] = {}
    if factors is not None:
        for name, levels in normalise_factors(factors):
            for level in levels or ():
                margin_counts[(name, level)] = dict.fromkeys(codes, 0)
    for stratum, seq in sequences.items():
        counts = dict.fromkeys(codes, 0)
        worst = 0.0
        at_ends: list[float] = []
        for arm, is_end in seq:
            counts[arm] += 1
            now = _imbalance(ratios, [counts[c] for c in codes])
            worst = max(worst, now)
            if is_end:
                at_ends.append(now)
        rows.append(
            BalanceRow(
                kind="stratum",
                label=stratum,
                counts=counts,
                imbalance=_imbalance(ratios, [counts[c] for c in codes]),
                max_running_imbalance=worst,
                block_end_imbalance=(max(at_ends) if at_ends else 0.0) if has_blocks else None,
                blocks=len(at_ends) if has_blocks else None,
            )
        )
        for c in codes:
            total[c] += counts[c]
        if factors is not None:
            for name, level in parse_stratum_key(stratum, factors).items():
                bucket = margin_counts.setdefault((name, level), dict.fromkeys(codes, 0))
                for c in codes:
                    bucket[c] += counts[c]
    for (name, level), counts in margin_counts.items():
        rows.append(
            BalanceRow(
                kind="margin",
                label=f"{name}={level}",
                counts=counts,
                imbalance=_imbalance(ratios, [counts[c] for c in codes]),
            )
        )
    rows.append(
        BalanceRow(kind="overall", label="overall", counts=total, imbalance=_imbalance(ratios, list(total.values())))
    )
    return BalanceReport(arms=ratios.pairs(), rows=tuple(rows))


def _ends_block(items: Sequence[AllocationEntry], i: int) -> bool:
    """Whether entry ``i`` is the last of its block."""
    return i + 1 == len(items) or items[i + 1].block != items[i].block

"""Scenarios of a power study: the protocol's design plus grid overrides.

Any simulation parameter can be gridded by its dotted path in the protocol's ``[simulation]``
section (``dropout.base_per_month``) or by its leaf name when only one parameter has it
(``rate_median_per_month``). Design-level parameters change one or more settings at once:

- ``participants``: randomized participants;
- ``effect``: slowing of ALSFRS-R decline in points/month, whatever the baseline severity;
- ``dropout``: the dropout mechanism (mcar, mar, mnar);
- ``ratio``: allocation active:control, e.g. ``2:1``;
- ``followup``: weeks from first dose to the primary visit (monthly visits, multiple of 4, >= 20);
- ``runin``: ``on`` keeps the run-in decline criterion, ``off`` drops it (everyone passes);
- ``enrich_alsfrs``: minimum ALSFRS-R at screening (enrichment by baseline function);
- ``enrich_progression``: minimum (48 - ALSFRS-R) / months since onset at referral (fast progressors);
- ``responder_threshold``: the responder rule's slope improvement in points/month.

A bad name or value is a :class:`PowerError` naming the parameter and what is allowed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from alstrial.errors import AlstrialError
from alstrial.protocol.models import Protocol, Visit
from alstrial.protocol.simulation import SimulationParams

#: last scheduled dose of the seed trial is at week 16: a shorter follow-up would cut doses
MIN_FOLLOWUP_WEEKS = 20
MAX_FOLLOWUP_WEEKS = 104
MAX_RATIO_PART = 4


class PowerError(AlstrialError):
    """Bad input to a power study (unknown parameter, value out of range, ...)."""


@dataclass(frozen=True)
class DesignParam:
    """A design-level parameter: what it means and the values it takes."""

    name: str
    help: str
    allowed: str


DESIGN_PARAMS: dict[str, DesignParam] = {
    p.name: p
    for p in (
        DesignParam("participants", "randomized participants", "an integer from 4 to 100000"),
        DesignParam("effect", "slowing of ALSFRS-R decline, points/month (all baseline severities)", "a number"),
        DesignParam("dropout", "dropout mechanism", "one of mcar, mar, mnar"),
        DesignParam("ratio", "allocation active:control", f"A:B with integers 1 to {MAX_RATIO_PART}, e.g. 1:1, 2:1"),
        DesignParam(
            "followup",
            "weeks from first dose to the primary visit",
            f"a multiple of 4 from {MIN_FOLLOWUP_WEEKS} to {MAX_FOLLOWUP_WEEKS}",
        ),
        DesignParam("runin", "run-in decline criterion for eligibility", "on or off"),
        DesignParam("enrich_alsfrs", "minimum ALSFRS-R total at screening", "an integer from 0 to 48"),
        DesignParam("enrich_progression", "minimum ALSFRS-R decline since onset at referral, points/month", ">= 0"),
        DesignParam("responder_threshold", "responder rule: slope improvement, points/month", "a number > 0"),
    )
}


def simulation_paths() -> dict[str, str]:
    """Every leaf parameter of ``SimulationParams`` by dotted path (path -> path)."""
    out: dict[str, str] = {}

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            ann = info.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                walk(ann, f"{prefix}{name}.")
            else:
                out[f"{prefix}{name}"] = f"{prefix}{name}"

    walk(SimulationParams, "")
    return out


def resolve_name(name: str) -> str:
    """The canonical name of a grid parameter: a design parameter or a dotted simulation path."""
    if name in DESIGN_PARAMS:
        return name
    paths = simulation_paths()
    if name in paths:
        return name
    by_leaf = [p for p in paths if p.rsplit(".", 1)[-1] == name]
    if len(by_leaf) == 1:
        return by_leaf[0]
    if len(by_leaf) > 1:
        raise PowerError(f"grid parameter {name!r} is ambiguous: give one of {sorted(by_leaf)!r}")
    raise PowerError(
        f"unknown grid parameter {name!r}: expected a design parameter ({', '.join(DESIGN_PARAMS)}) or a "
        "simulation parameter by its path in the protocol's [simulation] section, e.g. dropout.base_per_month "
        "(see `alstrial design params`)"
    )


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return text


def parse_grid(specs: Sequence[str]) -> dict[str, list[Any]]:
    """``["effect=0,0.25", "dropout=mar,mnar"]`` -> ``{"effect": [0, 0.25], "dropout": ["mar", "mnar"]}``."""
    grid: dict[str, list[Any]] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        if not sep or not name.strip() or not values.strip():
            raise PowerError(f"invalid --grid {spec!r}: expected PARAM=v1,v2,... (e.g. effect=0,0.25,0.5)")
        canonical = resolve_name(name.strip())
        if canonical in grid:
            raise PowerError(f"grid parameter {canonical!r} is given twice")
        parsed = [_number(v.strip()) for v in values.split(",")]
        if any(v == "" for v in parsed):
            raise PowerError(f"invalid --grid {spec!r}: an empty value")
        grid[canonical] = parsed
    return grid


@dataclass(frozen=True)
class Scenario:
    """One design to simulate: the protocol it runs under, its size and its allocation."""

    values: dict[str, Any]
    protocol: Protocol
    participants: int
    arms: tuple[str, ...]  # one allocation block's arm codes (the simulator repeats it)
    control: str

    @property
    def key(self) -> str:
        """Digest of everything that changes the simulated data or its analysis (cache key)."""
        blob = json.dumps(
            {"protocol": self.protocol.model_dump(mode="json"), "n": self.participants, "arms": self.arms},
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def describe(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.values.items()) or "protocol as written"


def _set_path(dump: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = dump
    for p in parents:
        node = node[p]
    node[leaf] = value


def _choice(name: str, value: Any, allowed: Sequence[str]) -> str:
    if str(value).lower() not in allowed:
        raise PowerError(f"invalid value {value!r} for {name}: expected one of {', '.join(allowed)}")
    return str(value).lower()


def _real(name: str, value: Any, *, low: float | None = None, strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PowerError(f"invalid value {value!r} for {name}: expected {DESIGN_PARAMS[name].allowed}")
    if low is not None and (value < low or (strict and value == low)):
        raise PowerError(f"invalid value {value!r} for {name}: expected {DESIGN_PARAMS[name].allowed}")
    return float(value)


def _integer(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PowerError(f"invalid value {value!r} for {name}: expected {DESIGN_PARAMS[name].allowed}")
    return value


def _ratio(value: Any) -> tuple[int, int]:
    parts = str(value).split(":")
    try:
        a, b = (int(p) for p in parts)
    except ValueError:
        a = b = 0
    if len(parts) != 2 or not (1 <= a <= MAX_RATIO_PART and 1 <= b <= MAX_RATIO_PART):
        raise PowerError(f"invalid value {value!r} for ratio: expected {DESIGN_PARAMS['ratio'].allowed}")
    return a, b


def _followup(protocol: Protocol, weeks: int) -> tuple[Protocol, dict[str, Any]]:
    """Monthly ALSFRS-R visits to ``weeks`` after the first dose; the primary visit moves to the last."""
    end = weeks * 7
    days = list(range(0, end + 1, 28))
    pre = [v for v in protocol.visits if v.day < 0]
    on = {v.day: v for v in protocol.visits if v.day >= 0}
    template = protocol.visits[-1]
    visits: list[Visit] = list(pre)
    for d in days:
        visit = on.get(d) or template.model_copy(update={"code": f"W{d // 7}", "name": f"Week {d // 7}", "day": d})
        visits.append(visit)
    last = visits[-1].code
    endpoints = [e.model_copy(update={"visit": last}) if e.visit else e for e in protocol.endpoints]
    sim = protocol.simulation
    csf = (*tuple(d for d in sim.visits.csf_days if d < end), end)
    doses = tuple(d for d in sim.visits.dose_days if d <= end)
    updates = {"alsfrs_days": tuple(days), "csf_days": csf, "dose_days": doses}
    return protocol.model_copy(update={"visits": visits, "endpoints": endpoints}), updates


def _validated(dump: dict[str, Any], names: Sequence[str]) -> SimulationParams:
    try:
        return SimulationParams.model_validate(dump)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PowerError(
            f"invalid value for {where} (from grid parameter(s) {', '.join(names)}): {first['msg']} "
            f"(got {first.get('input')!r})"
        ) from None


def build_scenario(protocol: Protocol, values: dict[str, Any]) -> Scenario:
    """The protocol with ``values`` (canonical names) applied; raises :class:`PowerError` on bad values."""
    control = next((a.code for a in protocol.arms if a.is_control), protocol.arms[-1].code)
    active = next(a.code for a in protocol.arms if a.code != control)
    participants = protocol.sample_size
    ratio = (1, 1)
    dump = protocol.simulation.model_dump()
    sim_names: list[str] = []
    for name, value in values.items():
        if name == "participants":
            participants = _integer(name, value, 4, 100_000)
        elif name == "effect":
            effect = _real(name, value)
            _set_path(dump, "treatment.effect_slope_points_per_month", effect)
            _set_path(dump, "treatment.effect_slope_high_points_per_month", effect)
            sim_names.append(name)
        elif name == "dropout":
            _set_path(dump, "dropout.mechanism", _choice(name, value, ("mcar", "mar", "mnar")))
        elif name == "ratio":
            ratio = _ratio(value)
        elif name == "followup":
            weeks = _integer(name, value, MIN_FOLLOWUP_WEEKS, MAX_FOLLOWUP_WEEKS)
            if weeks % 4:
                raise PowerError(f"invalid value {value!r} for followup: expected {DESIGN_PARAMS[name].allowed}")
            protocol, visit_updates = _followup(protocol, weeks)
            for k, v in visit_updates.items():
                _set_path(dump, f"visits.{k}", v)
            sim_names.append(name)
        elif name == "runin":
            if _choice(name, value, ("on", "off")) == "off":
                _set_path(dump, "eligibility.min_runin_decline_points", 0)
        elif name == "enrich_alsfrs":
            _set_path(dump, "eligibility.min_alsfrs_r_at_screening", _integer(name, value, 0, 48))
        elif name == "enrich_progression":
            _set_path(dump, "population.referral_min_dfs_per_month", _real(name, value, low=0.0))
        elif name == "responder_threshold":
            threshold = _real(name, value, low=0.0, strict=True)
            protocol = protocol.model_copy(
                update={
                    "endpoints": [
                        e.model_copy(update={"parameters": {**e.parameters, "threshold_points_per_month": threshold}})
                        if e.method == "responder"
                        else e
                        for e in protocol.endpoints
                    ]
                }
            )
        else:
            _set_path(dump, name, value)
            sim_names.append(name)
    params = _validated(dump, sim_names or list(values))
    if ratio[0] == ratio[1] == 1:
        arms: tuple[str, ...] = (control, active)
    else:
        arms = (control,) * ratio[1] + (active,) * ratio[0]
    protocol = protocol.model_copy(update={"simulation": params})
    return Scenario(values=dict(values), protocol=protocol, participants=participants, arms=arms, control=control)


def expand_grid(protocol: Protocol, grid: dict[str, list[Any]]) -> list[Scenario]:
    """Every combination of the grid's values (first parameter varies slowest), each validated."""
    names = list(grid)
    combos = itertools.product(*(grid[n] for n in names)) if names else [()]
    return [build_scenario(protocol, dict(zip(names, combo, strict=True))) for combo in combos]

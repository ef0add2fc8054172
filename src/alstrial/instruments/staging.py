"""Clinical stages estimated from one ALSFRS-R visit: King's (Balendra 2014) and MiToS (Chiò 2015).

These scalar functions spell the published rules out one by one so they can be read against
the papers; :mod:`alstrial.instruments.alsfrs_frame` has the vectorised twin, and the tests
check that both agree on random input.

King's from ALSFRS-R (Balendra et al., ALS FTD 2014;15:279), applied in this order [C]:

1. **4B** (respiratory failure / NIV): item 10 (dyspnea) == 0 OR item 12 (respiratory
   insufficiency) < 4. Wins over 4A when both apply.
2. **4A** (nutritional failure): item 5b answered, i.e. the patient has a gastrostomy.
3. Otherwise the number of regions involved, 0–3: bulbar (any of items 1–3 < 4), upper limb
   (item 4 < 4 or item 5a < 4), lower limb (item 8 < 4).

Order of severity: ``0 < 1 < 2 < 3 < 4A < 4B`` (:data:`KINGS_ORDER`). Stage 5 (death) is
never derived from a questionnaire. King's "0" means no involvement detected on the scale.

MiToS (Chiò et al., JNNP 2015;86:38, Table 1) [V]: stage = number of domains lost, 0–4:

- walking/self-care: item 8 ≤ 1 OR item 6 ≤ 1
- swallowing: item 3 ≤ 1
- communicating: item 1 ≤ 1 **AND** item 4 ≤ 1 (the published table says AND; several
  public scripts wrongly use OR)
- breathing: item 10 ≤ 1 OR item 12 ≤ 2

MiToS does not use item 5, so a gastrostomy alone changes King's stage but not MiToS.
"""

from __future__ import annotations

from collections.abc import Mapping

from alstrial.instruments.alsfrs_r import checked_values

__all__ = [
    "KINGS_ORDER",
    "MITOS_DOMAINS",
    "kings_stage",
    "kings_stage_from_values",
    "mitos_domains_lost",
    "mitos_stage",
    "mitos_stage_from_values",
]

#: King's stages from least to most advanced (stage 5 = death is not derived from ALSFRS-R).
KINGS_ORDER: tuple[str, ...] = ("0", "1", "2", "3", "4A", "4B")
MITOS_DOMAINS: tuple[str, ...] = ("walking_selfcare", "swallowing", "communicating", "breathing")


def kings_stage_from_values(v: Mapping[str, int]) -> str:
    """King's stage from already-validated integer item values (exactly one of q5a/q5b present)."""
    if v["q10"] == 0 or v["q12"] < 4:
        return "4B"
    if "q5b" in v:
        return "4A"
    bulbar = v["q1"] < 4 or v["q2"] < 4 or v["q3"] < 4
    upper_limb = v["q4"] < 4 or v["q5a"] < 4
    lower_limb = v["q8"] < 4
    return str(int(bulbar) + int(upper_limb) + int(lower_limb))


def mitos_domains_lost(v: Mapping[str, int]) -> dict[str, bool]:
    """Which MiToS domains are lost, from already-validated integer item values."""
    return {
        "walking_selfcare": v["q8"] <= 1 or v["q6"] <= 1,
        "swallowing": v["q3"] <= 1,
        "communicating": v["q1"] <= 1 and v["q4"] <= 1,
        "breathing": v["q10"] <= 1 or v["q12"] <= 2,
    }


def mitos_stage_from_values(v: Mapping[str, int]) -> int:
    """MiToS stage 0–4 from already-validated integer item values."""
    return sum(mitos_domains_lost(v).values())


def kings_stage(responses: Mapping[str, object]) -> str:
    """King's stage (``"0"``–``"3"``, ``"4A"``, ``"4B"``) of one visit; validates the responses first."""
    return kings_stage_from_values(checked_values(responses))


def mitos_stage(responses: Mapping[str, object]) -> int:
    """MiToS stage (0–4) of one visit; validates the responses first."""
    return mitos_stage_from_values(checked_values(responses))

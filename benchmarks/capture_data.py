"""Shared inputs of the capture and web benchmarks: an eligible screening, ALSFRS-R items, the visits.

Not a benchmark itself (``run_all.py`` runs only ``bench_*.py``); both benchmarks import it from
this folder, which is first on ``sys.path`` however they are started.
"""

from __future__ import annotations

from datetime import date

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
SCREEN = date(2025, 1, 6)
VISITS = ("W4", "W8", "W12", "W16", "W20", "W24", "W28")
ELIGIBLE: dict[str, object] = {
    "age_years": 45,
    "sex": "M",
    "el_escorial": "probable",
    "months_since_onset": 12,
    "onset_region": "limb",
    "alsfrs_r_total": 38,
    "svc_percent_predicted": 80.0,
    "riluzole": True,
    "prior_stem_cell_therapy": False,
    "edaravone_within_30_days": False,
    "experimental_agent_within_30_days": False,
}


def items(total: int) -> dict[str, int]:
    """Item responses (5a form) adding up to ``total``: the missing points taken from the first items."""
    codes = ("q1", "q2", "q3", "q4", "q5a", "q6", "q7", "q8", "q9", "q10", "q11", "q12")
    values, missing = dict.fromkeys(codes, 4), 48 - total
    for c in codes:
        take = min(4, missing)
        values[c] -= take
        missing -= take
    return values

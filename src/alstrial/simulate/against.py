"""Compare the simulated placebo arm with a user's own natural-history data (``--against FILE``).

The file is long: one row per participant and visit, with a subject column, the time as days or
months from any origin, the ALSFRS-R total, and optionally the four domain subscores. Both sides
go through :func:`alstrial.simulate.trajectory_stats.comparison_statistics`, so a statistician
sees where the model departs from their data on the same definitions. The statistics of totals
are computed on simulated placebo participants matched one-to-one to the file's subjects on
first total and visit schedule (:mod:`alstrial.simulate.matching`), and a logistic classifier
reports how well the two can be told apart (cross-validated AUC; 0.5 = indistinguishable).
Domain rows use the unmatched simulated cohort (the matched sample carries totals only).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from alstrial.protocol.simulation import SimulationParams
from alstrial.simulate.cohort import simulate_cohort
from alstrial.simulate.errors import SimulationError
from alstrial.simulate.latent import DAYS_PER_MONTH
from alstrial.simulate.matching import Distinguishability, distinguishability, matched_placebo
from alstrial.simulate.trajectory_stats import DOMAINS, comparison_statistics, domain_scores

SUBJECT_COLUMNS = ("subject", "usubjid", "id", "subjid", "participant")
TIME_COLUMNS = {"day": 1.0, "days": 1.0, "ady": 1.0, "month": DAYS_PER_MONTH, "months": DAYS_PER_MONTH}
TOTAL_COLUMNS = ("total", "alsfrs_r", "alsfrsr", "alsfrs_r_total", "aval")


@dataclass(frozen=True)
class AgainstResult:
    """One row per statistic: the user's value and SE, the simulated value and MC SE, and z."""

    table: pd.DataFrame
    n_subjects: int
    classifier: Distinguishability | None = None
    classifier_note: str = ""

    def __str__(self) -> str:
        tail = str(self.classifier) if self.classifier is not None else self.classifier_note
        return self.table.to_string(index=False) + ("\n" + tail if tail else "")


def _pick(columns: dict[str, str], options: tuple[str, ...] | dict[str, float], what: str, path: Path) -> str:
    for name in options:
        if name in columns:
            return columns[name]
    raise SimulationError(
        f"{path}: no {what} column; expected one of {list(options)!r} (found {list(columns.values())!r})"
    )


def read_long_file(path: Path) -> pd.DataFrame:
    """Read a CSV of long ALSFRS-R data into columns ``id, day, total`` (+ present domains)."""
    if not path.is_file():
        raise SimulationError(f"--against: file {str(path)!r} does not exist")
    try:
        raw = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise SimulationError(f"{path}: not a readable CSV file ({exc})") from None
    cols = {c.strip().lower(): c for c in raw.columns}
    subject = _pick(cols, SUBJECT_COLUMNS, "subject", path)
    time_name = _pick(cols, TIME_COLUMNS, "time (days or months)", path)
    total = _pick(cols, TOTAL_COLUMNS, "ALSFRS-R total", path)
    scale = TIME_COLUMNS[time_name.strip().lower()]
    out = pd.DataFrame({"id": raw[subject].astype(str)})
    for name, col in (("day", time_name), ("total", total)):
        values = pd.to_numeric(raw[col], errors="coerce")
        bad = raw[col].notna() & values.isna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
            raise SimulationError(f"{path}: row {row}, column {col}: value {raw[col].iloc[row - 2]!r} — not a number")
        out[name] = values * (scale if name == "day" else 1.0)
    out_of_range = out["total"].notna() & ~out["total"].between(0, 48)
    if out_of_range.any():
        row = int(np.flatnonzero(out_of_range.to_numpy())[0]) + 2
        raise SimulationError(
            f"{path}: row {row}, column {total}: value {out['total'].iloc[row - 2]!r} — an ALSFRS-R total is 0-48"
        )
    for dom in DOMAINS:
        if dom in cols:
            out[dom] = pd.to_numeric(raw[cols[dom]], errors="coerce")
    if out["id"].nunique() < 3:
        raise SimulationError(f"{path}: needs at least 3 subjects to compare (found {out['id'].nunique()})")
    return out


def compare_with_file(
    path: Path, params: SimulationParams | None = None, *, n: int = 1500, seed: int | None = 0
) -> AgainstResult:
    """Statistics of the file beside those of an all-placebo simulated cohort (post-baseline visits)."""
    data = read_long_file(Path(path))
    cohort = simulate_cohort(params, n, seed=seed, arms=("placebo",))
    v = cohort.visits.loc[cohort.visits["day"] >= 0].copy()
    have = [d for d in DOMAINS if d in data.columns]
    if have:
        v = pd.concat([v, domain_scores(v)[have]], axis=1)
    ours = comparison_statistics(data)
    matched = matched_placebo(data, params, pool=n, seed=seed)
    sim = {**comparison_statistics(v), **comparison_statistics(matched)}
    classifier, note = None, ""
    try:
        classifier = distinguishability(data, matched)
    except SimulationError as exc:
        note = f"classifier not run: {exc}"
    rows = []
    for name, est in ours.items():
        s = sim.get(name)
        if s is None:
            continue
        se = float(np.hypot(est.se, s.se))
        z = (s.value - est.value) / se if se > 0 else float("nan")
        rows.append(
            {"statistic": name, "data": est.value, "data_se": est.se, "simulated": s.value, "sim_se": s.se, "z": z}
        )
    return AgainstResult(
        table=pd.DataFrame(rows), n_subjects=int(data["id"].nunique()), classifier=classifier, classifier_note=note
    )

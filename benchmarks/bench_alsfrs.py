"""Benchmark: score 1,000,000 ALSFRS-R visits, vectorised vs a naive per-row loop.

Times (1) the CLI path `alstrial alsfrs score` performs — read CSV as text, score_frame, write
CSV atomically — and (2) score_frame alone, on text cells (as read from CSV) and on an integer
frame. The baseline is the naive approach, calling score() once per row, timed on a subsample
in this same run and extrapolated linearly. Target: 1,000,000 rows in well under 10 s.

    .venv/bin/python benchmarks/bench_alsfrs.py [--rows N] [--baseline-rows M]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from alstrial.instruments.alsfrs_csv import read_alsfrs_csv, write_csv_atomic
from alstrial.instruments.alsfrs_frame import score_frame
from alstrial.instruments.alsfrs_r import ITEM_CODES, score

TARGET_S = 10.0


def make_visits(n: int, seed: int = 20240301) -> pd.DataFrame:
    """Plausible visits: items 0–4 skewed towards normal, ~15% with a gastrostomy (5b)."""
    rng = np.random.default_rng(seed)
    items = rng.choice(5, size=(n, len(ITEM_CODES)), p=[0.08, 0.12, 0.2, 0.25, 0.35])
    df = pd.DataFrame(items, columns=list(ITEM_CODES)).astype(object)
    gastro = rng.random(n) < 0.15
    df.loc[gastro, "q5a"] = ""
    df.loc[~gastro, "q5b"] = ""
    df.insert(0, "participant_id", [f"P{i // 7:06d}" for i in range(n)])
    df.insert(1, "visit", np.tile([f"M{m}" for m in range(7)], n // 7 + 1)[:n])
    df.insert(2, "months_since_onset", np.round(rng.uniform(3, 48, n), 1))
    return df


def timed(label: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    dt = time.perf_counter() - t0
    print(f"  {label:<44s} {dt:8.3f} s")
    return out, dt


def naive_per_row(df: pd.DataFrame) -> list[object]:
    """The obvious implementation: parse each cell and call score() for every row."""
    out: list[object] = []
    for rec in df[list(ITEM_CODES)].to_dict("records"):
        out.append(score({k: int(v) for k, v in rec.items() if str(v).strip() != ""}))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--baseline-rows", type=int, default=20_000)
    args = ap.parse_args(argv)
    n = args.rows
    print(f"ALSFRS-R scoring benchmark: {n:,} rows, target < {TARGET_S:.0f} s")

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "visits.csv", Path(tmp) / "scored.csv"
        make_visits(n).to_csv(src, index=False)
        print(f"  (input CSV {src.stat().st_size / 1e6:.1f} MB generated, not timed)")

        print("CLI path (read CSV as text → score_frame → write CSV atomically):")
        t0 = time.perf_counter()
        text, t_read = timed("read_alsfrs_csv", read_alsfrs_csv, src)
        result, t_score_text = timed("score_frame (text cells)", score_frame, text)
        assert result.ok, result.problems[:3]
        _, t_write = timed("write_csv_atomic", write_csv_atomic, result.frame, dst)
        t_cli = time.perf_counter() - t0
        print(f"  {'total':<44s} {t_cli:8.3f} s   ({n / t_cli:,.0f} rows/s)")

        print("score_frame alone:")
        ints = text[list(ITEM_CODES)].replace("", np.nan).astype(float)
        ints_result, t_score_num = timed("score_frame (numeric columns, NaN = blank)", score_frame, ints)
        assert ints_result.ok
        assert (ints_result.frame["total"].to_numpy() == result.frame["total"].to_numpy()).all()

    m = min(args.baseline_rows, n)
    print(f"naive baseline (score() per row on {m:,} rows, extrapolated to {n:,}):")
    sample = text.iloc[:m]
    naive, t_naive_m = timed(f"score() loop, {m:,} rows", naive_per_row, sample)
    vec = result.frame["total"].iloc[:m].to_numpy()
    assert [s.total for s in naive] == vec.tolist(), "naive and vectorised totals differ"  # type: ignore[attr-defined]
    t_naive = t_naive_m * n / m
    print(f"  {'extrapolated':<44s} {t_naive:8.3f} s")

    print("summary:")
    verdict = "OK" if t_score_text < TARGET_S and t_cli < TARGET_S else "MISSED"
    print(
        f"  score_frame {t_score_text:.2f} s, CLI path {t_cli:.2f} s for {n:,} rows; "
        f"target < {TARGET_S:.0f} s: {verdict}"
    )
    print(
        f"  speed-up vs naive per-row score(): score_frame ×{t_naive / t_score_text:,.0f}, "
        f"CLI path ×{t_naive / t_cli:,.0f}"
    )
    print(
        f"  (read {t_read:.2f} s, score {t_score_text:.2f} s, write {t_write:.2f} s; numeric frame {t_score_num:.2f} s)"
    )


if __name__ == "__main__":
    main()

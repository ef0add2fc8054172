"""Time the full-size demo (189 participants, seed 2026) phase by phase against the 60 s target.

Baseline, measured in the same run: the simulator's vectorised fast path (``simulate_cohort``) for
the same trial and seed, no database; the ratio says what pushing every record through the
capture services (validation, roles, audit chain, durable SQLite commits) costs on top.

    .venv/bin/python benchmarks/bench_demo.py [--seed 2026] [--n 189] [--profile out.prof]
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import tempfile
import time
from pathlib import Path

TARGET_S = 60.0


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--n", type=int, default=None, help="participants to randomize (default: the protocol's 189)")
    ap.add_argument("--profile", type=Path, default=None, help="write a cProfile of the demo here")
    args = ap.parse_args(argv)

    t_import = time.perf_counter()
    from alstrial.protocol import load_protocol
    from alstrial.simulate.cohort import simulate_cohort
    from alstrial.workflows.demo import run_demo

    import_s = time.perf_counter() - t_import

    protocol = load_protocol()
    n = args.n or protocol.sample_size
    arms = [a.code for a in protocol.arms]
    control = next(a.code for a in protocol.arms if a.is_control)
    t0 = time.perf_counter()
    cohort = simulate_cohort(protocol.simulation, n=n, seed=args.seed, arms=arms, control_arm=control)
    baseline_s = time.perf_counter() - t0

    marks: list[tuple[str, float]] = []

    def step(message: str) -> None:
        marks.append((message, time.perf_counter()))

    profiler = cProfile.Profile() if args.profile else None
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        if profiler:
            profiler.enable()
        run = run_demo(Path(tmp), seed=args.seed, n_randomized=n, step=step)
        if profiler:
            profiler.disable()
            profiler.dump_stats(str(args.profile))
        end = time.perf_counter()
    total = end - start

    print(f"alstrial demo benchmark: {n} randomized, seed {args.seed} (imports {import_s:.2f} s, not counted)")
    print(f"  {'phase':<72} {'seconds':>8}")
    bounds = [*marks, ("(end)", end)]
    for (message, t), (_, t_next) in itertools.pairwise(bounds):
        print(f"  {message:<72} {t_next - t:8.2f}")
    print(f"  {'total run_demo':<72} {total:8.2f}   target {TARGET_S:.0f} s  ->  {total / TARGET_S:.2f} x target")
    log = run.log
    print(
        f"  virtual sites: {log.screened} screened, {log.randomized} randomized, {log.visits} visits, "
        f"{log.lab_results} lab results, {log.doses} doses, {log.adverse_events} AEs, "
        f"audit records {run.results['audit']['records']}"
    )
    print(
        f"baseline: fast-path simulate_cohort of the same trial (no database) {baseline_s:.2f} s "
        f"({cohort.n_screened} screened); demo / baseline = {total / baseline_s:.0f}x"
    )
    # issue 10's acceptance: the demo's placebo responder rate inside the published 26/94's exact interval
    from alstrial.simulate.calibration import clopper_pearson

    lo, hi = clopper_pearson(26, 94)
    for row in run.results["estimands"]["E_PRIMARY"]["result"]["proportions"]:
        if row["arm"] == control:
            inside = "inside" if lo <= row["proportion"] <= hi else "OUTSIDE"
            print(
                f"placebo responders {row['responders']}/{row['n']} = {100 * row['proportion']:.1f} %, {inside} the"
                f" published 26/94 exact 95 % interval {100 * lo:.1f}-{100 * hi:.1f} %"
            )
    errors = {o.endpoint.id: o.error for o in run.outcomes if o.error}
    print(f"endpoints analysed: {len(run.outcomes) - len(errors)} of {len(run.outcomes)}; errors: {errors or 'none'}")


if __name__ == "__main__":
    main()

"""Run every benchmark in this folder (``make bench``).

Each ``bench_*.py`` module has a ``main()`` that prints its absolute times, its target and the
ratio against a baseline measured in the same run. Benchmarks never fail the build on timing;
a benchmark that crashes is reported and makes the run exit non-zero.
"""

from __future__ import annotations

import importlib.util
import sys
import time
import traceback
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).resolve().parent
    wanted = set(argv)
    failures = 0
    for path in sorted(here.glob("bench_*.py")):
        if wanted and path.stem not in wanted and path.stem.removeprefix("bench_") not in wanted:
            continue
        print(f"\n=== {path.stem} ===", flush=True)
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        started = time.perf_counter()
        saved_argv = sys.argv
        sys.argv = [str(path)]  # each benchmark runs with its own defaults
        try:
            spec.loader.exec_module(module)
            module.main()
        except Exception:
            failures += 1
            traceback.print_exc()
        finally:
            sys.argv = saved_argv
        print(f"({path.stem} took {time.perf_counter() - started:.1f} s)", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

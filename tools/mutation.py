"""Mutation testing (`make mutation`): mutmut over the modules where a silent error changes a
trial's result or leaks an allocation, each group against the fast tests that cover it.

mutmut reads one ``[tool.mutmut]`` table and runs, for every mutant, the selected tests that execute
the mutated function. Selecting the database-backed service tests for every module would make each
scoring or statistics mutant rerun them, so each group runs in its own directory,
``build/mutation/<group>/`` (symlinks to ``src``, ``tests`` and ``validation`` plus a pyproject with
that group's table). Results stay there, so an interrupted run resumes where it stopped.

    python tools/mutation.py [GROUP ...]      # run the groups (all by default), then print the table
    python tools/mutation.py --sample 120 GROUP      # a seeded random sample of 120 mutants per module
    python tools/mutation.py --summary [GROUP ...]   # only print what is stored

A sample is drawn once per group (``random.Random(seed).sample`` of each module's sorted mutant names,
kept in ``build/mutation/<group>/sample.json``) and reported as a sample with its size, never as a full
result; rerunning resumes it. Drawing it needs the mutant names before any mutant runs, so mutmut's
generation step (pinned mutmut 3.8.1) is called on its own first.

Run it under ``nice -n 19`` on a shared machine (the Makefile target does).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "mutation"
MUTMUT = Path(sys.executable).with_name("mutmut")

# SQLite only (the PostgreSQL half proves the engine, not the rule); no subprocess-per-case checks.
FAST = ["-m", "not slow", "-k", "not postgresql and not across_processes", "-p", "no:cacheprovider"]


@dataclass(frozen=True)
class Group:
    modules: tuple[str, ...]  # paths under src/ (globs allowed)
    tests: tuple[str, ...]  # the fast tests that may kill their mutants


GROUPS: dict[str, Group] = {
    "instruments": Group(
        ("alstrial/instruments/alsfrs_r.py", "alstrial/instruments/staging.py"),
        ("tests/instruments/test_alsfrs_r.py", "tests/instruments/test_staging.py"),
    ),
    "eligibility_windows": Group(
        ("alstrial/domain/eligibility.py", "alstrial/domain/visit_windows.py"),
        ("tests/domain/test_eligibility.py", "tests/domain/test_visit_windows.py"),
    ),
    "randomization": Group(
        ("alstrial/domain/randomization/*",),
        (
            "tests/domain/test_randomization_allocation_list.py",
            "tests/domain/test_randomization_api.py",
            "tests/domain/test_randomization_balance.py",
            "tests/domain/test_randomization_blocks.py",
            "tests/domain/test_randomization_kit_codes.py",
            "tests/domain/test_randomization_minimization.py",
            "tests/domain/test_randomization_refusals.py",
            "tests/domain/test_randomization_seeding.py",
            "tests/domain/test_randomization_strata.py",
            "tests/domain/test_strata.py",
        ),
    ),
    "endpoints": Group(
        ("alstrial/stats/cafs.py", "alstrial/stats/responder.py", "alstrial/stats/responder_slopes.py"),
        ("tests/stats/test_cafs.py", "tests/stats/test_responder.py", "tests/analysis/test_slope_rule.py"),
    ),
    "mmrm": Group(
        ("alstrial/stats/mmrm/covariance.py", "alstrial/stats/mmrm/ddf.py"),
        (
            "tests/stats/test_mmrm_covariance.py",
            "tests/stats/test_mmrm_reference.py",
            "tests/stats/test_mmrm_features.py",
        ),
    ),
    "policy": Group(
        ("alstrial/services/policy.py",),
        ("tests/services/test_policy.py", "tests/services/test_roles_and_lock.py", "tests/services/test_blinding.py"),
    ),
    "blinding_reads": Group(
        ("alstrial/services/reads.py",),
        # not test_concealment.py: reads.py never touches the allocation secret it guards
        ("tests/services/test_reads.py", "tests/services/test_blinding.py"),
    ),
}


def _toml_list(items: list[str] | tuple[str, ...]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def prepare(name: str, group: Group) -> Path:
    """The group's directory: the checkout's files by symlink and a pyproject with its mutmut table."""
    where = BUILD / name
    where.mkdir(parents=True, exist_ok=True)
    for link in ("src", "tests", "validation"):
        target = where / link
        if not target.is_symlink():
            target.symlink_to(ROOT / link, target_is_directory=True)
    table = "\n".join(
        [
            "[tool.mutmut]",
            'source_paths = ["src/"]',
            f"only_mutate = {_toml_list(['src/' + m for m in group.modules])}",
            'also_copy = ["validation/"]',
            f"pytest_add_cli_args_test_selection = {_toml_list(group.tests)}",
            f"pytest_add_cli_args = {_toml_list(FAST)}",
            # mutmut stops a mutant after (clean time + constant) × multiplier seconds of *wall* time (twice that
            # of CPU). Under nice 19 on a shared, loaded machine a 6 CPU-second test run took 2 minutes of wall
            # time, so mutmut's default (clean time + 1 s) × 15 reports killed-looking "timeouts" that are only
            # waiting: allow (clean time + 150 s) × 3. A mutant that really loops still ends, after ~8 minutes.
            "timeout_multiplier = 3.0",
            "timeout_constant = 150.0",
            "",
        ]
    )
    (where / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text(encoding="utf-8") + "\n" + table)
    return where


def recheck(name: str, group: Group, max_children: int) -> int:
    """Rerun the group's surviving and untested mutants with freshly collected test statistics.

    mutmut maps each function to the tests that ran it when it first collected statistics, so a test
    added afterwards is never run against the old survivors; dropping the statistics makes it trace
    the current tests again before it reruns them."""
    where = prepare(name, group)
    names = [
        m for _, codes, _ in results(name) for m, code in codes.items() if STATUS.get(code) in ("survived", "no tests")
    ]
    print(f"== recheck {name}: {len(names)} surviving or untested mutants", flush=True)
    if not names:
        return 0
    (where / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
    return subprocess.call([str(MUTMUT), "run", "--max-children", str(max_children), *names], cwd=where)


def run(name: str, group: Group, max_children: int) -> int:
    where = prepare(name, group)
    print(f"== mutation group {name}: {', '.join(group.modules)}", flush=True)
    sample = _load_sample(name)
    if sample is None:
        return subprocess.call([str(MUTMUT), "run", "--max-children", str(max_children)], cwd=where)
    names = [
        m for module, codes in stored(name) for m, code in codes.items() if m in sample.get(module, ()) and code is None
    ]
    print(f"   sample: {sum(map(len, sample.values()))} mutants, {len(names)} not yet checked", flush=True)
    if not names:
        return 0
    return subprocess.call([str(MUTMUT), "run", "--max-children", str(max_children), *names], cwd=where)


_GENERATE = """
from pathlib import Path
import mutmut.__main__ as m
m.set_mutant_under_test("mutant_generation")
Path("mutants").mkdir(exist_ok=True)
m.copy_src_dir(); m.copy_also_copy_files(); m.setup_source_paths(); m.store_lines_covered_by_tests()
m.create_mutants({children})
"""


def draw_sample(name: str, group: Group, size: int, seed: int, max_children: int) -> None:
    """Generate the group's mutants (without running them) and keep a seeded sample of each module's."""
    if _load_sample(name) is not None:
        return
    where = prepare(name, group)
    subprocess.run([sys.executable, "-c", _GENERATE.format(children=max_children)], cwd=where, check=True)
    rng = random.Random(seed)
    sample = {module: sorted(rng.sample(sorted(codes), min(size, len(codes)))) for module, codes in stored(name)}
    (BUILD / name / "sample.json").write_text(json.dumps({"seed": seed, "size": size, "mutants": sample}, indent=1))


def _load_sample(name: str) -> dict[str, list[str]] | None:
    path = BUILD / name / "sample.json"
    return json.loads(path.read_text(encoding="utf-8"))["mutants"] if path.exists() else None


STATUS = {
    1: "killed",
    3: "killed",
    0: "survived",
    5: "no tests",
    33: "no tests",
    34: "skipped",
    36: "timeout",
    -24: "timeout",
    24: "timeout",
    152: "timeout",
    255: "timeout",
    37: "type check",
    None: "not checked",
}


def stored(name: str) -> list[tuple[str, dict[str, int | None]]]:
    """(module, {mutant: exit code}) for every mutated file of a group that has results."""
    out = []
    for meta in sorted((BUILD / name / "mutants" / "src").rglob("*.py.meta")):
        codes = json.loads(meta.read_text(encoding="utf-8")).get("exit_code_by_key", {})
        if codes:
            out.append((str(meta.relative_to(BUILD / name / "mutants")).removesuffix(".meta"), codes))
    return out


def results(name: str) -> list[tuple[str, dict[str, int | None], int | None]]:
    """(module, {mutant: exit code}, all mutants of the module when the codes are a sample, else None)."""
    sample = _load_sample(name)
    if sample is None:
        return [(module, codes, None) for module, codes in stored(name)]
    return [
        (module, {m: codes[m] for m in sample.get(module, ()) if m in codes}, len(codes))
        for module, codes in stored(name)
    ]


def summary(names: list[str]) -> None:
    print("| group | module | mutants | killed | timeout | survived | no tests | not checked | killed % |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    missed: list[str] = []
    for name in names:
        for module, codes, population in results(name):
            c = Counter(STATUS.get(code, "suspicious") for code in codes.values())
            total = len(codes)
            score = f"{100 * (c['killed'] + c['timeout']) / total:.1f}" if c["not checked"] == 0 else "not finished"
            shown = str(total) if population in (None, total) else f"sample {total} of {population}"
            print(
                f"| {name} | {module} | {shown} | {c['killed']} | {c['timeout']} | {c['survived']} | "
                f"{c['no tests']} | {c['not checked']} | {score} |"
            )
            missed += [
                f"- {key}: {STATUS.get(code, 'suspicious')}"
                for key, code in sorted(codes.items())
                if STATUS.get(code, "suspicious") in ("survived", "no tests", "suspicious")
            ]
    print("\nNot killed:")
    print("\n".join(missed) if missed else "(none)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="*", help=f"groups to run: {', '.join(GROUPS)} (default: all)")
    parser.add_argument("--summary", action="store_true", help="print the stored results only")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--sample", type=int, metavar="N", help="run a seeded random sample of N mutants per module")
    parser.add_argument("--seed", type=int, default=15, help="seed of the sample (default 15)")
    parser.add_argument("--recheck", action="store_true", help="rerun survivors with fresh test statistics")
    args = parser.parse_args(argv)
    names = args.groups or list(GROUPS)
    unknown = sorted(set(names) - set(GROUPS))
    if unknown:
        parser.error(f"unknown group(s) {', '.join(unknown)}; expected some of {', '.join(GROUPS)}")
    status = 0
    if not args.summary:
        for name in names:
            if args.recheck:
                status |= recheck(name, GROUPS[name], args.max_children)
                continue
            if args.sample is not None:
                draw_sample(name, GROUPS[name], args.sample, args.seed, args.max_children)
            status |= run(name, GROUPS[name], args.max_children)
    summary(names)
    return status


if __name__ == "__main__":
    tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))  # fail early on a broken pyproject
    sys.exit(main())

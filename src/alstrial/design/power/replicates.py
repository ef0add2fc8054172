"""One chunk of replicates of one scenario: simulate, build the analysis datasets, analyse.

``run_chunk`` is the unit of work every executor ships (in-process, local processes, Dask). It
takes the scenario, one ``SeedSequence`` per replicate and the analysis names, and returns one
row per replicate and analysis (:data:`RESULT_COLUMNS`).

The MMRM primary analyses (``mmrm``, ``mmrm_satterthwaite``) take a fast path: the chunk's
trials become arrays (trial × participant × visit) and are fitted by
:func:`alstrial.stats.mmrm.batch.fit_primary_many`, which shares the design's structure across
the trials and equals the plan's regular fit (``AnalysisPlan.mmrm_change``) within 1e-6
relative (tests check it on simulated trials). When only such analyses and the array analyses
(``responder_unadjusted``, ``cafs``: :mod:`alstrial.design.power.array_analyses`) are asked for,
the trials are simulated together by :func:`alstrial.simulate.batch.simulate_cohorts` (no data
frames); otherwise each trial is simulated by ``simulate_cohort`` for the analyses that need its analysis
datasets, and the MMRM arrays are read from the same cohort. Either way trial ``r`` is the same
trial and its MMRM fit does not depend on the other trials of the chunk, so the results do not
depend on chunking, executor or workers. A scenario the fast path cannot express (a visit
schedule whose days do not map one-to-one onto the protocol's visits, a df method other than
Kenward-Roger or Satterthwaite) runs the regular per-trial analysis.

Every route hands the estimands the intercurrent events the sites would have recorded: the plan
gets the cohort's ADICE, the arrays lose the values the MMRM's estimand sets aside
(:mod:`alstrial.design.power.intercurrent`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from alstrial.analysis.datasets import primary_visit_code
from alstrial.analysis.plan import AnalysisPlan
from alstrial.design.cohort_datasets import adice_from_cohort, datasets_from_cohort, visit_code
from alstrial.design.power.analyses import _endpoint, run_analysis
from alstrial.design.power.array_analyses import ARRAY_ANALYSES, array_analyses_supported, array_rows
from alstrial.design.power.intercurrent import last_visit_day, recorded_days, set_aside
from alstrial.design.power.memory import keep_freed_memory
from alstrial.design.power.scenarios import Scenario
from alstrial.protocol.models import Protocol
from alstrial.simulate.batch import simulate_cohorts
from alstrial.simulate.cohort import Cohort, simulate_cohort
from alstrial.simulate.latent import EVENT_NAMES
from alstrial.stats.mmrm.batch import BatchDf, fit_primary_many
from alstrial.stats.mmrm.threads import single_blas_thread

RESULT_COLUMNS = (
    "replicate",
    "analysis",
    "estimate",
    "std_error",
    "p_value",
    "rejected",
    "rate_control",
    "rate_active",
    "error",
    "n_randomized",
    "n_screened",
    "n_dropout",
)


def replicate_seeds(root: int, start: int, stop: int) -> list[np.random.SeedSequence]:
    """Seeds of replicates ``start..stop-1``: child ``r`` of ``SeedSequence(root).spawn(...)``.

    Built directly from the spawn key, so a replicate's seed depends on ``root`` and its index
    only: not on the chunk it travels in, the scenario, or how many replicates there are.
    Replicate ``r`` of every scenario shares its seed (common random numbers), so scenarios
    differ by their design, not by their draws.
    """
    return [np.random.SeedSequence(root, spawn_key=(r,)) for r in range(start, stop)]


#: analyses with a fast path, and the df parameter each sets on the protocol's MMRM endpoint
FAST_MMRM: dict[str, str | None] = {"mmrm": None, "mmrm_satterthwaite": "satterthwaite"}
#: the plan's MMRM stratum (ALSBAND): baseline ALSFRS-R >= 35 is level 0 ("ge35"), < 35 level 1
STRATUM_CUT = 35


@dataclass(frozen=True)
class FastMMRM:
    """What the fast path needs of a scenario: the primary visit's column and each analysis' df."""

    primary_visit: int  # index into the post-baseline scheduled visits
    df: dict[str, BatchDf]  # analysis name -> "kenward-roger" | "satterthwaite"


def fast_mmrm(scenario: Scenario, analyses: Sequence[str]) -> FastMMRM | None:
    """The fast path for ``analyses`` under ``scenario``, or None when it cannot reproduce the plan.

    It needs each simulated ALSFRS-R day to fall in its own protocol visit (as
    ``datasets_from_cohort`` assigns them), day 0 in the baseline visit and the primary visit
    among the post-baseline ones.
    """
    names = [a for a in analyses if a in FAST_MMRM]
    if not names:
        return None
    protocol = scenario.protocol
    endpoint = _endpoint(protocol, "mmrm_change")
    days = [int(d) for d in protocol.simulation.visits.alsfrs_days]
    codes = [visit_code(protocol, d) for d in days]
    plan_baseline = protocol.dose_visits()[0].code
    primary = endpoint.visit or primary_visit_code(protocol)
    if len(set(codes)) != len(codes) or codes[0] != plan_baseline or primary not in codes[1:]:
        return None
    df: dict[str, BatchDf] = {}
    for name in names:
        method = FAST_MMRM[name] or str(endpoint.parameters.get("df", "kenward-roger"))
        if method not in ("kenward-roger", "satterthwaite"):
            return None
        df[name] = cast(BatchDf, method)
    return FastMMRM(codes[1:].index(primary), df)


@dataclass(frozen=True)
class _Arrays:
    """The MMRM inputs of one trial: change (n, m), baseline (n,), active (n,)."""

    change: np.ndarray
    baseline: np.ndarray
    active: np.ndarray


def _without_set_aside(
    protocol: Protocol, change: np.ndarray, visit_days: np.ndarray, days: dict[str, np.ndarray]
) -> np.ndarray:
    """``change`` with the values the MMRM endpoint's estimand sets aside (after the event) as NaN."""
    endpoint = _endpoint(protocol, "mmrm_change")
    return np.where(set_aside(protocol, endpoint.id, visit_days, days), np.nan, change)


def _cohort_arrays(cohort: Cohort, control: str, protocol: Protocol) -> _Arrays:
    """A cohort's scheduled post-baseline ALSFRS-R changes as ``simulate_cohorts`` gives them, with
    the values the MMRM's estimand sets aside removed (as the plan does with the cohort's ADICE)."""
    p = cohort.participants
    days = np.asarray(cohort.params.visits.alsfrs_days, dtype=int)
    v = cohort.visits
    v = v[v["day"].isin(days)]
    total = v.pivot(index="id", columns="day", values="total").reindex(index=p["id"], columns=days)
    base = p["baseline_total"].to_numpy(dtype=float)
    change = total.to_numpy(dtype=float)[:, 1:] - base[:, None]
    events = {name: p[f"{name}_day"].to_numpy(dtype=float) for name in EVENT_NAMES}
    recorded = recorded_days(events, p["dropout_day"].to_numpy(dtype=float), last_visit_day(protocol))
    change = _without_set_aside(protocol, change, days[1:], recorded)
    return _Arrays(change, base, (p["arm"] != control).to_numpy())


def _fast_rows(fast: FastMMRM, trials: list[_Arrays], alpha: float) -> dict[str, list[dict[str, object]]]:
    """One row per trial for each fast analysis (its fits are independent of the other trials)."""
    change = [t.change for t in trials]
    baseline = [t.baseline for t in trials]
    active = [t.active for t in trials]
    strata = [(t.baseline < STRATUM_CUT).astype(int) for t in trials]
    out: dict[str, list[dict[str, object]]] = {}
    nan = float("nan")
    for name, df in fast.df.items():
        fits = fit_primary_many(
            change,
            baseline,
            active,
            strata,
            df=df,
            primary_visit=fast.primary_visit,
            n_strata=2,
        )
        out[name] = [
            {
                "analysis": name,
                "estimate": float(fits.estimate[r]),
                "std_error": float(fits.std_error[r]),
                "p_value": float(fits.p_value[r]),
                "rejected": bool(fits.p_value[r] < alpha),  # NaN (failed fit) compares False
                "rate_control": nan,
                "rate_active": nan,
                "error": "" if np.isfinite(fits.p_value[r]) else "MMRMError: the primary MMRM could not be fitted",
            }
            for r in range(len(trials))
        ]
    return out


def run_chunk(
    scenario: Scenario, seeds: Sequence[np.random.SeedSequence], analyses: Sequence[str], alpha: float | None = None
) -> pd.DataFrame:
    """Simulate and analyse one trial per seed; rows in (replicate, analysis) order."""
    keep_freed_memory()
    protocol = scenario.protocol
    alpha = protocol.analysis.alpha if alpha is None else alpha
    fast = fast_mmrm(scenario, analyses)
    slow = [a for a in analyses if fast is None or a not in fast.df]
    arrays_only = all(a in ARRAY_ANALYSES for a in slow) and (not slow or array_analyses_supported(protocol))
    from_arrays = slow if arrays_only else []
    slow = [] if arrays_only else slow
    states = [[int(x) for x in ss.generate_state(2, dtype=np.uint64)] for ss in seeds]
    commons: list[dict[str, object]] = []
    per_trial: list[dict[str, dict[str, Any]]] = []
    arrays: list[_Arrays] = []
    with single_blas_thread(), warnings.catch_warnings():
        # non-convergence and separation warnings of thousands of small fits: the fits' p values
        # and errors are what a power study records
        warnings.simplefilter("ignore")
        if slow:
            for ss, (sim_seed, plan_seed) in zip(seeds, states, strict=True):
                cohort = simulate_cohort(
                    protocol.simulation,
                    n=scenario.participants,
                    seed=sim_seed,
                    arms=scenario.arms,
                    control_arm=scenario.control,
                )
                ds = datasets_from_cohort(cohort, protocol)
                plan = AnalysisPlan(protocol, seed=plan_seed % 2**31, adice=adice_from_cohort(cohort, protocol))
                p = cohort.participants
                commons.append(
                    {
                        "replicate": int(ss.spawn_key[-1]),
                        "n_randomized": len(p),
                        "n_screened": cohort.n_screened,
                        "n_dropout": int(p["dropout_day"].notna().sum()),
                    }
                )
                done = {}
                for name in slow:
                    row = run_analysis(name, plan, ds)
                    row["rejected"] = bool(row["p_value"] < alpha)  # NaN (failed fit) compares False
                    done[name] = row
                per_trial.append(done)
                if fast is not None:
                    arrays.append(_cohort_arrays(cohort, scenario.control, protocol))
        elif seeds:
            trials = simulate_cohorts(
                protocol.simulation,
                scenario.participants,
                [s for s, _ in states],
                arms=scenario.arms,
                control_arm=scenario.control,
            )
            recorded = recorded_days(trials.events, trials.dropout_day, last_visit_day(protocol))
            change = _without_set_aside(protocol, trials.change(), trials.visit_days[1:], recorded)
            for r, ss in enumerate(seeds):
                commons.append(
                    {
                        "replicate": int(ss.spawn_key[-1]),
                        "n_randomized": int(trials.total.shape[1]),
                        "n_screened": int(trials.n_screened[r]),
                        "n_dropout": int(np.sum(~np.isnan(trials.dropout_day[r]))),
                    }
                )
                arrays.append(_Arrays(change[r], trials.baseline_total[r].astype(float), trials.active[r]))
            per_trial = array_rows(AnalysisPlan(protocol), trials, from_arrays)
            for done in per_trial:
                for row in done.values():
                    row["rejected"] = bool(row["p_value"] < alpha)  # NaN (failed fit) compares False
        if fast is not None and arrays:
            for name, rows in _fast_rows(fast, arrays, alpha).items():
                for done, row in zip(per_trial, rows, strict=True):
                    done[name] = row
    out = [common | done[name] for common, done in zip(commons, per_trial, strict=True) for name in analyses]
    return pd.DataFrame(out, columns=list(RESULT_COLUMNS))


def run_replicates(scenario: Scenario, root: int, start: int, stop: int, analyses: Sequence[str]) -> pd.DataFrame:
    """Replicates ``start..stop-1`` of ``scenario`` under root seed ``root`` (what executors ship)."""
    return run_chunk(scenario, replicate_seeds(root, start, stop), analyses)

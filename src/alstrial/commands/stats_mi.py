"""`alstrial stats mi`: multiple-imputation sensitivity analyses of a change endpoint on a CSV file.

One row per participant (wide): arm, a complete baseline and one column per post-baseline visit
(blank = missing). Imputes under MAR and the reference-based assumptions (jump to reference,
copy reference, copy increments in reference), analyses each completed dataset by ANCOVA at
``--visit`` and pools with Rubin's rules; ``--tipping`` adds a delta-adjusted tipping-point
analysis on the MAR imputations and reports the delta at which the conclusion flips.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from alstrial.commands.stats_endpoints import DATA, JSON, _data_error, _read, _run, _split


def mi(
    data: Path = DATA,
    arm: str = typer.Option(..., "--arm", help="Arm column (2 levels)."),
    baseline: str = typer.Option(..., "--baseline", help="Baseline column (complete)."),
    visits: str = typer.Option(..., "--visits", help="Comma-separated post-baseline visit columns, in order."),
    visit: str | None = typer.Option(None, "--visit", help="Visit analysed (default: the last of --visits)."),
    methods: str = typer.Option(
        "mar,jump_to_reference,copy_reference,copy_increments_in_reference",
        "--methods",
        help="Comma list of mar, jump_to_reference, copy_reference, copy_increments_in_reference.",
    ),
    m: int = typer.Option(50, "--m", min=2, help="Number of imputations."),
    seed: int | None = typer.Option(None, "--seed", help="Seed (same data, same seed, same imputations)."),
    reference: str | None = typer.Option(None, "--reference", help="Reference (control) arm; default first sorted."),
    tipping: str | None = typer.Option(
        None, "--tipping", help="Comma list of deltas added to imputed active-arm values, e.g. 0,-1,-2,-4."
    ),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level of the tipping point."),
    as_json: bool = JSON,
) -> None:
    """Multiple imputation (MAR and reference-based) with Rubin's rules, and a tipping point."""
    from alstrial.stats.imputation import analyse_imputed, ancova_analysis, impute_mvn, tipping_point
    from alstrial.stats.imputation.mi_mar import IMPUTATION_METHODS
    from alstrial.stats.result import plain

    def compute() -> dict[str, Any]:
        wide = _read(data)
        columns = _split(visits)
        if not columns:
            raise _data_error("give at least one visit column in --visits")
        target = visit or columns[-1]
        if target not in columns:
            raise _data_error(f"--visit {target!r} is not one of --visits {columns}")
        wanted = _split(methods)
        bad = [x for x in wanted if x not in IMPUTATION_METHODS]
        if bad or not wanted:
            raise _data_error(
                f"invalid value for --methods {bad or wanted}, expected some of {list(IMPUTATION_METHODS)}"
            )
        try:
            deltas = [float(d) for d in _split(tipping)]
        except ValueError:
            raise _data_error(f"invalid value for --tipping {tipping!r}, expected numbers like 0,-1,-2") from None
        analysis = ancova_analysis(arm=arm, baseline=baseline, visit=target, reference=reference)
        out: dict[str, Any] = {"visit": target, "m": m, "seed": seed, "methods": {}}
        for method in dict.fromkeys([*wanted, *(["mar"] if deltas else [])]):
            imputed = impute_mvn(
                wide,
                arm=arm,
                baseline=baseline,
                visits=columns,
                m=m,
                seed=seed,
                method=method,  # type: ignore[arg-type]
                reference=reference,
            )
            if method in wanted:
                out["methods"][method] = analyse_imputed(imputed, analysis).to_dict()
            if method == "mar" and deltas:
                out["tipping_point"] = tipping_point(imputed, analysis, deltas, alpha=alpha).to_dict()
        return plain(out)

    if as_json:
        _run(compute, True, lambda r: r)
    else:
        _run(lambda: _Text(compute()), False, lambda r: r)


class _Text(dict[str, Any]):
    def __str__(self) -> str:
        return _text(self)


def _text(result: dict[str, Any]) -> str:
    lines = [f"Multiple imputation at {result['visit']} (m = {result['m']}, seed {result['seed']}), Rubin's rules"]
    for method, r in result["methods"].items():
        ci = f"95% CI {r['ci_lower']:.3f} to {r['ci_upper']:.3f}"
        lines.append(f"  {method:<30} {r['estimate']:8.3f}  {ci}  p = {r['p_value']:.4g}")
    tip = result.get("tipping_point")
    if tip:
        where = (
            "not reached on the grid"
            if tip["tipping_delta"] is None
            else f"{tip['tipping_delta']:g} (interpolated {tip['tipping_delta_interpolated']})"
        )
        lines.append(f"Tipping point (alpha {tip['alpha']}): the conclusion flips at delta {where}")
        for row in tip["table"]:
            lines.append(f"  delta {row['delta']:+7.2f}: {row['estimate']:8.3f}  p = {row['p_value']:.4g}")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    app.command(name="mi")(mi)

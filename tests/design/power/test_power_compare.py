"""Design comparison table and figures, on a hand-made summary (no simulation)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from power_fixtures import protocol

from alstrial.design.power.compare import design_table
from alstrial.design.power.figures import curve_axis, design_figure, power_curves
from alstrial.design.power.run import PowerResult, PowerStudy, binomial_summary, is_null
from alstrial.design.power.scenarios import build_scenario


def _result(tmp_path: Path) -> PowerResult:
    grid = [
        {"effect": 0.0, "participants": 150},
        {"effect": 0.5, "participants": 150},
        {"effect": 0.5, "participants": 250, "followup": 52},
    ]
    scenarios = [build_scenario(protocol, v) for v in grid]
    study = PowerStudy(protocol, scenarios, reps=100, analyses=("mmrm", "cafs"))
    counts = {(0, "mmrm"): 5, (0, "cafs"): 4, (1, "mmrm"): 60, (1, "cafs"): 60, (2, "mmrm"): 90, (2, "cafs"): 70}
    rows = [
        {
            "scenario": i,
            "label": scenarios[i].describe(),
            "analysis": a,
            "null": is_null(scenarios[i]),
            "participants": scenarios[i].participants,
            "reps": 100,
            "rejections": k,
            "failed": 0,
            "mean_estimate": 0.0,
            **binomial_summary(k, 100),
        }
        for (i, a), k in counts.items()
    ]
    return PowerResult(study=study, summary=pd.DataFrame(rows), out_dir=tmp_path)


def test_designs_rank_by_power_without_null_scenarios_and_cheaper_first_on_ties(tmp_path: Path) -> None:
    table = design_table(_result(tmp_path))
    assert table["rank"].tolist() == [1, 2, 3, 4]
    assert table["power"].tolist() == [0.9, 0.7, 0.6, 0.6]
    assert table.loc[0, "participants"] == 250 and table.loc[0, "analysis"] == "mmrm"
    # 52 weeks of 250 participants against 20 weeks (the seed trial's 28) of 150
    assert table.loc[0, "participant_months"] > 2 * table.loc[2, "participant_months"]
    assert not table["design"].str.contains("effect=0.0,").any()


def test_a_budget_keeps_only_designs_it_can_pay_for(tmp_path: Path) -> None:
    table = design_table(_result(tmp_path), budget=200)
    assert set(table["participants"]) == {150}
    assert table.loc[0, "power"] == 0.6


def test_figures_are_written_with_the_effect_on_the_x_axis(tmp_path: Path) -> None:
    result = _result(tmp_path)
    assert curve_axis(result) == "effect"
    curves = power_curves(result, tmp_path / "curves.png", target=0.8)
    designs = design_figure(design_table(result), tmp_path / "designs.png", reps=100)
    for path in (curves, designs):
        assert path.read_bytes()[:4] == b"\x89PNG" and path.stat().st_size > 10_000

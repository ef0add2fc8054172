"""The study report: every endpoint's section, CONSORT numbers, inline SVG, escaping, errors shown."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from alstrial.analysis import plan as plan_module
from alstrial.analysis import summaries
from alstrial.analysis.datasets import AnalysisDatasets
from alstrial.analysis.plan import AnalysisPlan, EndpointOutcome, clean_json
from alstrial.design.cohort_datasets import datasets_from_cohort
from alstrial.protocol import load_protocol
from alstrial.protocol.models import Protocol
from alstrial.protocol.simulation import SimulationParams
from alstrial.report.build import build_report
from alstrial.simulate.cohort import Cohort, simulate_cohort

HOSTILE = "<script>alert('x')</script> & MSC"


@pytest.fixture(scope="module")
def protocol() -> Protocol:
    p = load_protocol()
    endpoints = [e.model_copy(update={"name": f"{e.name} <i>{e.id}</i>"}) if e.id == "CAFS" else e for e in p.endpoints]
    return p.model_copy(update={"title": HOSTILE, "endpoints": endpoints})


N_RANDOMIZED = 80


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    return simulate_cohort(SimulationParams(), n=N_RANDOMIZED, seed=4, arms=("PBO", "MSC"), control_arm="PBO")


@pytest.fixture(scope="module")
def datasets(protocol: Protocol, cohort: Cohort) -> AnalysisDatasets:
    return datasets_from_cohort(cohort, protocol)


@pytest.fixture(scope="module")
def outcomes(protocol: Protocol, datasets: AnalysisDatasets) -> tuple[EndpointOutcome, ...]:
    return tuple(AnalysisPlan(protocol, imputations=2).run(datasets))


def _results(protocol: Protocol, ds: AnalysisDatasets) -> dict[str, Any]:
    arms = [a.code for a in protocol.arms]
    return clean_json(
        {
            "consort": summaries.consort(ds.adsl, arms),
            "baseline": summaries.baseline(ds.adsl, arms),
            "dropouts": summaries.dropouts(ds.adsl),
            "audit": {"records": 1234, "verified": True},
        }
    )


def _trial_info(protocol: Protocol) -> dict[str, Any]:
    return {
        "id": protocol.id,
        "title": protocol.title,
        "registry_id": protocol.registry_id,
        "phase": protocol.phase,
        "arms": [a.name for a in protocol.arms],
        "ratio": "1:1",
        "n_sites": len(protocol.sites),
        "source": "simulated cohort",
        "simulated": True,
        "seed": 4,
        "primary_week": 28,
        "version": "test",
        "database": "none",
    }


def _report(protocol: Protocol, ds: AnalysisDatasets, outcomes: tuple[EndpointOutcome, ...]) -> str:
    return build_report(
        protocol=protocol,
        datasets=ds,
        outcomes=outcomes,
        results=_results(protocol, ds),
        trial_info=_trial_info(protocol),
    )


@pytest.fixture(scope="module")
def html(protocol: Protocol, datasets: AnalysisDatasets, outcomes: tuple[EndpointOutcome, ...]) -> str:
    return _report(protocol, datasets, outcomes)


def _text(html: str) -> str:
    """The report's visible text, tags removed and whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_every_analysed_endpoint_has_its_section(
    html: str, protocol: Protocol, outcomes: tuple[EndpointOutcome, ...]
) -> None:
    assert {o.endpoint.method for o in outcomes} == {
        "responder",
        "mmrm_change",
        "cafs",
        "slope",
        "survival",
        "biomarker",
        "safety",
    }
    headings = re.findall(r"<h2>(\d+)\. (.*?)</h2>", html)
    titles = [t for _, t in headings]
    for o in outcomes:
        escaped = o.endpoint.name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert escaped in titles, o.endpoint.name
    # numbered 1..n in order: flow, baseline, the endpoints, dropouts
    assert [int(n) for n, _ in headings] == list(range(1, len(headings) + 1))
    assert titles[:2] == ["Participant flow", "Baseline characteristics"] and titles[-1] == "Dropouts"


def test_consort_numbers_appear(html: str, protocol: Protocol, cohort: Cohort) -> None:
    """The flow numbers are counted from the simulator's own participant table, not through
    ``summaries.consort``: the fast path keeps only randomized participants (so screened = randomized)
    and treats them all, and a participant completes week 28 unless the simulator recorded a dropout
    on or before that day."""
    p = cohort.participants
    week28 = next(v.day for v in protocol.visits if v.code == "W28")
    completed = p["dropout_day"].isna() | (p["dropout_day"] > week28)
    assert len(p) == N_RANDOMIZED
    text = _text(html)
    assert f"Screened {N_RANDOMIZED}" in text
    assert f"Randomized {N_RANDOMIZED}" in text
    for arm in protocol.arms:
        mine = (p["arm"] == arm.code).to_numpy()
        n, done = int(mine.sum()), int((mine & completed).sum())
        assert 0 < done < n  # the fixture must exercise both branches
        assert f"{arm.name} randomized {n} · treated {n}" in text
        assert f"discontinued {n - done}" in text
        assert f"completed week 28 {done}" in text
    assert f"{int((~completed).sum())} of {N_RANDOMIZED} randomized participants" in text
    assert "Audit trail: 1234 records, chain verified" in text


def test_figures_are_inline_svg_and_there_is_no_script(html: str) -> None:
    assert html.count("<svg") >= 4  # mean profile, Kaplan-Meier, forest plot, dropouts
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # self-contained: nothing is fetched


def test_the_same_data_give_the_same_report(
    html: str, protocol: Protocol, datasets: AnalysisDatasets, outcomes: tuple[EndpointOutcome, ...]
) -> None:
    assert "<dc:date>" not in html  # no timestamp in the figures' metadata
    assert _report(protocol, datasets, outcomes) == html


def test_user_text_is_escaped(html: str) -> None:
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; MSC" in html
    assert "<i>CAFS</i>" not in html and "&lt;i&gt;CAFS&lt;/i&gt;" in html


def test_an_endpoint_error_is_a_visible_note_and_the_rest_is_reported(
    protocol: Protocol, datasets: AnalysisDatasets, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("singular <matrix> at visit W28")

    monkeypatch.setattr(plan_module, "random_slope_model", broken)
    few = protocol.model_copy(
        update={"endpoints": [e for e in protocol.endpoints if e.method in ("slope", "survival")]}
    )
    outcomes = tuple(AnalysisPlan(few).run(datasets))
    html = _report(few, datasets, outcomes)
    slope = next(e for e in few.endpoints if e.method == "slope")
    section = html.split(f"{slope.name}</h2>")[1].split("<h2>")[0]
    assert "could not be analysed: ValueError: singular &lt;matrix&gt; at visit W28" in section
    assert "Log-rank" in html  # the survival section is still there


def test_fit_warnings_are_shown_with_their_section(
    protocol: Protocol, datasets: AnalysisDatasets, outcomes: tuple[EndpointOutcome, ...]
) -> None:
    warned = tuple(
        replace(o, warnings=("ConvergenceWarning: <did not converge>",)) if o.endpoint.method == "survival" else o
        for o in outcomes
    )
    html = _report(protocol, datasets, warned)
    surv = next(o for o in outcomes if o.endpoint.method == "survival").endpoint.name
    section = html.split(f"{surv}</h2>")[1].split("<h2>")[0]
    assert '<p class="note">Warning from the fit: ConvergenceWarning: &lt;did not converge&gt;</p>' in section


def test_a_trial_without_dropouts_has_no_dropout_figure(
    protocol: Protocol, datasets: AnalysisDatasets, outcomes: tuple[EndpointOutcome, ...]
) -> None:
    everyone = replace(datasets, adsl=datasets.adsl.assign(COMPLFL=True, DCSREAS=""))
    html = _report(protocol, everyone, outcomes)
    tail = html.split("Dropouts</h2>")[1]
    assert "<p>0 of 80 randomized participants (0%) left before week 28.</p>" in tail
    assert "<svg" not in tail

"""A refused form comes back as its own page: what was typed, each problem beside its field, nothing saved.

Every form of the site that writes (other than the ALSFRS-R and correction forms, tested with their
pages) is posted once with one bad field, some caught by the form reader (not a number, not a date,
missing) and some only by the services (a range, the password policy, dates out of order).
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from webtools import post_form, prepare, sign_in

from conftest import PASSWORD, Trial, no_trace

pytest_plugins = ["webfixtures"]

AE = {
    "term": "Headache",
    "onset_date": "{day0}",
    "severity": "MILD",
    "relatedness": "NOT RELATED",
    "action_taken": "DOSE NOT CHANGED",
    "outcome": "NOT RECOVERED/NOT RESOLVED",
}
SCREENING = {"screened_on": "{day0}", "consent_date": "{day0}", "value_sex": "F", "value_months_since_onset": "14"}

#: (user, page, action, fields posted, the bad field, words of its message)
CASES: list[tuple[str, str, str, dict[str, str], str, str]] = [
    (
        "pharmacist",
        "/pharmacy",
        "/pharmacy/lots",
        {"aspiration_id": "twelve", "dose_number": "1", "manufactured_on": "{day0}", "expires_on": "{day0}"},
        "aspiration_id",
        "expected a whole number",
    ),
    (
        "site_coordinator",
        "/participants/{rand}/visits/W0/measures",
        "/participants/{rand}/visits/W0/vital-capacity",
        {"percent_predicted": "999", "test": "FVC", "position": "supine"},
        "percent_predicted",
        "",  # the services' range message, whatever its wording: checked to name the field
    ),
    (
        "site_coordinator",
        "/participants/{rand}/visits/W0/measures",
        "/participants/{rand}/visits/W0/weight",
        {"weight_kg": "heavy"},
        "weight_kg",
        "expected a number",
    ),
    (
        "investigator",
        "/participants/{rand}/doses/new",
        "/participants/{rand}/doses",
        {"lot_number": "LOT-X", "label_coi_id": "COI-X", "dose_number": "first", "administered_at": "{day0}T10:00"},
        "dose_number",
        "expected a whole number",
    ),
    (
        "investigator",
        "/participants/{rand}/disposition",
        "/participants/{rand}/disposition",
        {"what": "withdraw", "on": "31/12/2026", "reason_code": "ADVERSE EVENT", "decided_by": "participant"},
        "on",
        "expected a date YYYY-MM-DD",
    ),
    (
        "site_coordinator",
        "/participants/{rand}/disposition",
        "/participants/{rand}/intercurrent-events",
        {"kind": "gastrostomy", "event_date": "", "details": "PEG placed"},
        "event_date",
        "required",
    ),
    (
        "lab_technician",
        "/participants/{rand}/csf",
        "/participants/{rand}/csf",
        {"visit": "W0", "sample_id": "CSF-NEW-1", "collected_at": "yesterday"},
        "collected_at",
        "expected a date and time",
    ),
    (
        "lab_technician",
        "/participants/{rand}/csf",
        "/participants/{rand}/csf/results",
        {"sample_id": "{sample}", "analyte": "NFL", "value": "lots", "unit": "pg/mL", "assay": "Simoa"},
        "value",
        "expected a number",
    ),
    (
        "admin",
        "/admin/users",
        "/admin/users",
        {"username": "newcoord", "role": "site_coordinator", "site": "S01", "password": "short"},
        "password",
        "",
    ),
    ("admin", "/admin/users", "/admin/sites", {"code": "S09", "name": "", "country": "FR"}, "name", "required"),
    (
        "data_manager",
        "/queries",
        "/queries",
        {"entity": "adverse_event", "entity_id": "first", "field": "term", "text": "Please check the term"},
        "entity_id",
        "expected a whole number",
    ),
    (
        "data_manager",
        "/queries",
        "/queries",
        {"entity": "adverse_event", "entity_id": "1", "field": "trem", "text": "Please check the term"},
        "field",
        "",
    ),
    ("admin", "/admin/lock", "/admin/lock", {"what": "lock", "reason": "", "password": PASSWORD}, "reason", "required"),
    (
        "unblinded_statistician",
        "/admin/unblinding",
        "/admin/unblinding",
        {"reason": "", "password": PASSWORD},
        "reason",
        "required",
    ),
    (
        "investigator",
        "/participants/{rand}/emergency-unblinding",
        "/participants/{rand}/emergency-unblinding",
        {"reason": "", "password": PASSWORD},
        "reason",
        "required",
    ),
    (
        "investigator",
        "/participants/{rand}/adverse-events/new",
        "/participants/{rand}/adverse-events",
        {**AE, "onset_date": "last week"},
        "onset_date",
        "expected a date YYYY-MM-DD",
    ),
    (
        "investigator",
        "/participants/{rand}/adverse-events/new",
        "/participants/{rand}/adverse-events",
        {**AE, "resolution_date": "2000-01-01"},
        "resolution_date",
        "",
    ),
    (
        "site_coordinator",
        "/screening",
        "/screening",
        {**SCREENING, "value_age_years": "two"},
        "value_age_years",
        "whole",
    ),
    # the services judge the range and name the protocol's field, age_years: the form marks value_age_years
    ("site_coordinator", "/screening", "/screening", {**SCREENING, "value_age_years": "200"}, "value_age_years", ""),
]


def _fill(text: str, ctx: dict[str, Any]) -> str:
    return text.format(rand=ctx["rand"], day0=ctx["day0"].isoformat(), sample=ctx.get("sample", "CSF-1"))


@pytest.mark.parametrize(("user", "page", "action", "data", "bad", "words"), CASES, ids=[c[2] for c in CASES])
def test_a_refused_form_returns_its_page_with_the_problem_beside_the_field(
    client: TestClient, trial: Trial, user: str, page: str, action: str, data: dict[str, str], bad: str, words: str
) -> None:
    ctx = prepare(trial)
    sign_in(client, user)
    page_url, action_url = _fill(page, ctx), _fill(action, ctx)
    posted = {k: _fill(v, ctx) for k, v in data.items()}
    with no_trace(trial.db):
        r = post_form(client, page_url, action_url, posted)
    assert r.status_code == 422, r.text[:600]
    text = r.text
    # the form itself, not the general error page
    assert "Nothing was saved" in text
    form = re.search(rf'<form method="post" action="{re.escape(action_url)}".*?</form>', text, re.S)
    assert form is not None, "the form itself comes back, not the general error page"
    marked = re.findall(r'<(?:input|select)[^>]*aria-invalid="true"[^>]*>', text)
    assert len(marked) == 1 and f'name="{bad}"' in marked[0], marked
    assert marked[0] in form.group(0)
    described = re.search(r'aria-describedby="([^"]+)"', marked[0])
    assert described is not None
    message = re.search(rf'<span class="problem" id="{re.escape(described.group(1))}">([^<]+)</span>', text)
    assert message is not None and words in html.unescape(message.group(1))
    # what was typed is kept in that form (so it can be fixed, not retyped); a password never is
    for name, value in posted.items():
        if "password" in name or not value:
            continue
        typed = re.search(rf'<input[^>]*name="{name}"[^>]*>', form.group(0))
        chosen = re.search(rf'<select[^>]*name="{name}"[^>]*>.*?</select>', form.group(0), re.S)
        if typed is not None:
            assert f'value="{html.escape(value)}"' in typed.group(0), (name, typed.group(0))
        else:
            assert chosen is not None, name
            assert f'<option value="{html.escape(value)}" selected>' in chosen.group(0), (name, chosen.group(0)[:300])
    assert PASSWORD not in text and 'value="short"' not in text


def test_only_the_submitted_form_of_a_two_form_page_shows_what_was_typed(client: TestClient, trial: Trial) -> None:
    """The CSF page has a sample and a result form that share the ``sample_id`` field."""
    ctx = prepare(trial)
    sign_in(client, "lab_technician")
    url = f"/participants/{ctx['rand']}/csf"
    r = post_form(client, url, f"{url}/results", {"sample_id": "CSF-TYPED", "analyte": "NFL", "value": "x"})
    assert r.status_code == 422
    assert re.search(r'id="r-sample" name="sample_id" value="CSF-TYPED"', r.text)
    assert re.search(r'id="sample_id" name="sample_id" value=""', r.text)


def test_the_fixed_resubmission_is_saved_once_with_the_form_request_key(client: TestClient, trial: Trial) -> None:
    from alstrial import services as sv

    ctx = prepare(trial)
    sign_in(client, "site_coordinator")
    url = f"/participants/{ctx['rand']}/visits/W0/measures"
    action = f"/participants/{ctx['rand']}/visits/W0/weight"
    refused = post_form(client, url, action, {"weight_kg": "heavy", "request_key": "weight-form-1"})
    assert refused.status_code == 422 and 'name="request_key" value="weight-form-1"' in refused.text
    for _ in range(2):  # fixed, then submitted twice (a double click)
        assert post_form(client, url, action, {"weight_kg": "71.5", "request_key": "weight-form-1"}).status_code == 303
    rows = {v["visit"]: v for v in sv.visit_data(trial.db, trial["monitor"], ctx["rand"])}
    assert rows["W0"]["weight_kg"] == 71.5 and rows["W0"]["weight_version"] == 1


def test_a_refused_adverse_event_keeps_its_ticked_seriousness_criteria(client: TestClient, trial: Trial) -> None:
    """Check boxes are values too: the criteria ticked before the refusal are still ticked, no others."""
    ctx = prepare(trial)
    sign_in(client, "investigator")
    page = f"/participants/{ctx['rand']}/adverse-events/new"
    posted = {**_fill_all(AE, ctx), "onset_date": "last week", "serious": "on"}
    posted["criteria"] = ["death", "hospitalization"]
    r = post_form(client, page, f"/participants/{ctx['rand']}/adverse-events", posted)
    assert r.status_code == 422
    ticked = re.findall(r'<input type="checkbox" name="criteria" value="([a-z_]+)" checked>', r.text)
    assert ticked == ["death", "hospitalization"]
    assert re.search(r'<input type="checkbox" name="serious" checked>', r.text)
    fresh = client.get(page).text
    assert "checked" not in fresh


def _fill_all(data: dict[str, str], ctx: dict[str, Any]) -> dict[str, str]:
    return {k: _fill(v, ctx) for k, v in data.items()}

"""The pages through a browser-like client: a monthly visit, per-item messages, 409 page, escaping, CSRF."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from webtools import csrf_of, post_form, prepare, sign_in

from conftest import PASSWORD, Trial, alsfrs_items, snapshot

pytest_plugins = ["webfixtures"]


def test_a_monthly_visit_through_the_pages(client: TestClient, trial: Trial) -> None:
    ctx = prepare(trial)
    code = ctx["rand"]
    sign_in(client, "site_coordinator")
    timeline = client.get(f"/participants/{code}")
    assert timeline.status_code == 200 and 'id="kit-code"' in timeline.text
    visit_date = (ctx["day0"] + timedelta(days=28)).isoformat()
    r = post_form(
        client, f"/participants/{code}", f"/participants/{code}/visits", {"visit": "W4", "visit_date": visit_date}
    )
    assert r.status_code == 303
    page = client.get(f"/participants/{code}")
    assert "Visit W4 recorded" in page.text and re.search(r'id="visit-W4".*?state-done"', page.text, re.S)

    form_url = f"/participants/{code}/visits/W4/alsfrs-r"
    form = client.get(form_url)
    assert form.status_code == 200 and "Normal speech processes" in form.text and "previous: " in form.text
    answers = {k: str(v) for k, v in alsfrs_items(30).items()}
    missing = {k: v for k, v in answers.items() if k != "q7"}
    before = snapshot(trial.db)
    r = post_form(client, form_url, form_url, missing)
    assert r.status_code == 422
    assert 'id="problem-q7"' in r.text and "nothing was saved" in r.text
    assert snapshot(trial.db) == before
    # the answers already given are kept in the form
    assert re.search(r'name="q1" value="0" checked', r.text)
    r = post_form(client, form_url, form_url, answers)
    assert r.status_code == 303
    saved = client.get(form_url)
    assert "total 30/48" in saved.text and 'id="saved-total">30<' in saved.text and "King's stage" in saved.text


def test_a_resubmitted_form_creates_nothing_twice(client: TestClient, trial: Trial) -> None:
    ctx = prepare(trial)
    code = ctx["rand"]
    sign_in(client, "investigator")
    page = client.get(f"/participants/{code}/adverse-events/new")
    key = re.search(r'name="request_key" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    data = {
        "term": "Nausea",
        "onset_date": ctx["day0"].isoformat(),
        "severity": "MILD",
        "relatedness": "NOT RELATED",
        "action_taken": "DOSE NOT CHANGED",
        "outcome": "RECOVERED/RESOLVED",
        "request_key": key,
        "csrf_token": csrf_of(page.text),
    }
    assert client.post(f"/participants/{code}/adverse-events", data=data, follow_redirects=False).status_code == 303
    before = snapshot(trial.db)
    assert client.post(f"/participants/{code}/adverse-events", data=data, follow_redirects=False).status_code == 303
    assert snapshot(trial.db) == before


def test_user_text_is_escaped(client: TestClient, trial: Trial) -> None:
    ctx = prepare(trial)
    code = ctx["rand"]
    sign_in(client, "investigator")
    term = "<script>alert('x')</script>"
    r = post_form(
        client,
        f"/participants/{code}/adverse-events/new",
        f"/participants/{code}/adverse-events",
        {
            "term": term,
            "onset_date": ctx["day0"].isoformat(),
            "severity": "MILD",
            "relatedness": "NOT RELATED",
            "action_taken": "DOSE NOT CHANGED",
            "outcome": "RECOVERED/RESOLVED",
        },
    )
    assert r.status_code == 303
    page = client.get(f"/participants/{code}/adverse-events/new")
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page.text


def test_two_people_correcting_one_value_get_a_409_page_with_both_versions(client: TestClient, trial: Trial) -> None:
    ctx = prepare(trial)
    code, ae = ctx["rand"], ctx["ae"]
    url = f"/corrections?entity=adverse_event&entity_id={ae}&field=term&participant={code}"
    sign_in(client, "investigator")
    form = client.get(url)
    assert form.status_code == 200 and 'name="version" value="1"' in form.text
    token = csrf_of(form.text)
    base = {"entity": "adverse_event", "entity_id": str(ae), "field": "term", "version": "1", "participant": code}
    first = client.post(
        "/corrections", data={**base, "new_value": "Post-LP headache", "reason": "q1", "csrf_token": token}
    )
    assert first.status_code == 200 and "Corrected term" in first.text  # followed the redirect
    second = client.post(
        "/corrections", data={**base, "new_value": "Cephalalgia", "reason": "q2", "csrf_token": token}
    )  # the same stale form submitted again with another value
    assert second.status_code == 409
    assert 'id="your-value">Cephalalgia<' in second.text
    assert 'id="current-value">Post-LP headache<' in second.text and 'id="current-version">2<' in second.text


def test_wrong_product_label_is_refused(client: TestClient, trial: Trial) -> None:
    ctx = prepare(trial)
    code = ctx["rand"]
    sign_in(client, "investigator")
    r = post_form(
        client,
        f"/participants/{code}/doses/new",
        f"/participants/{code}/doses",
        {
            "lot_number": ctx["lot_released"],
            "label_coi_id": "COI-WRONG-000",
            "administered_at": f"{ctx['day0'].isoformat()}T10:30",
            "dose_number": "1",
        },
    )
    assert r.status_code == 422 and "DOSE REFUSED" in r.text


def test_locked_database_refuses_page_writes(client: TestClient, trial: Trial) -> None:
    ctx = prepare(trial)
    sign_in(client, "admin")
    r = post_form(
        client,
        "/admin/lock",
        "/admin/lock",
        {"what": "lock", "reason": "LPLV", "password": PASSWORD, "override_reason": "casebooks signed on paper"},
    )
    assert r.status_code == 303
    assert "locked" in client.get("/admin/lock").text
    client.cookies.clear()
    sign_in(client, "site_coordinator")
    r = post_form(
        client,
        f"/participants/{ctx['rand']}",
        f"/participants/{ctx['rand']}/visits",
        {"visit": "W4", "visit_date": (ctx["day0"] + timedelta(days=28)).isoformat()},
    )
    assert r.status_code == 423 and "Database locked" in r.text


def test_forms_without_the_csrf_token_are_refused(client: TestClient, trial: Trial) -> None:
    ctx = prepare(trial)
    sign_in(client, "site_coordinator")
    before = snapshot(trial.db)
    data = {"visit": "W4", "visit_date": (ctx["day0"] + timedelta(days=28)).isoformat()}
    for token in (None, "forged", csrf_of(client.get("/login").text) + "x"):
        sent = dict(data) if token is None else {**data, "csrf_token": token}
        r = client.post(f"/participants/{ctx['rand']}/visits", data=sent, follow_redirects=False)
        assert r.status_code == 403 and "security token" in r.text
    assert snapshot(trial.db) == before


def test_pages_need_a_sign_in(client: TestClient, trial: Trial) -> None:
    r = client.get("/participants", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fparticipants"


def test_dashboard_counts_per_site_and_no_arm(client: TestClient, trial: Trial) -> None:
    prepare(trial)
    trial.screen(eligible=False)
    sign_in(client, "monitor")
    page = client.get("/")
    assert page.status_code == 200
    row = re.search(r"<tr><td>S01</td>(.*?)</tr>", page.text, re.S)
    assert row is not None
    assert [int(n) for n in re.findall(r"<td>(\d+)</td>", row.group(1))] == [1, 1, 1, 1, 4]
    assert "IN1" in page.text  # the screen failure's criterion (age)

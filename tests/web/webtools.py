"""Helpers of the web tests: signing in through the API and the login form, posting forms, a prepared trial."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from conftest import PASSWORD, Trial

TEST_SECRET = "test-secret-" + "x" * 40


def token_for(client: TestClient, username: str, password: str = PASSWORD) -> str:
    r = client.post("/api/v1/tokens", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    m = CSRF.search(html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> None:
    """Sign a browser-like client in through the login form."""
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text), "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def post_form(client: TestClient, page_url: str, action: str, data: dict[str, Any]) -> Any:
    """Open ``page_url`` (for its CSRF token), then post ``data`` to ``action`` like the browser would."""
    token = csrf_of(client.get(page_url).text)
    return client.post(action, data={**data, "csrf_token": token}, follow_redirects=False)


# --------------------------------------------------------------------------- trial state for the API tables
def prepare(t: Trial) -> dict[str, Any]:
    """State on which every API operation of ``test_api`` succeeds once, in table order.

    Mirrors tests/services/capture_calls.py: an eligible, an enrolled and a randomized participant
    (at day 0, with a bone-marrow aspiration, one released and one made lot, a CSF sample, an
    adverse event and an open query).
    """
    from datetime import timedelta

    from alstrial import services as sv
    from conftest import SCREEN_DAY

    day0 = SCREEN_DAY + timedelta(days=90)
    at0 = datetime(day0.year, day0.month, day0.day, 10, 0, tzinfo=UTC)
    ctx: dict[str, Any] = {"day0": day0, "at0": at0}
    ctx["eligible"] = t.screen()
    ctx["enrolled"] = t.enrolled()
    code = ctx["rand"] = t.at_day0()
    inv, pharm = t["investigator"], t["pharmacist"]
    ctx["bma"] = sv.record_aspiration(t.db, inv, code, aspirated_at=at0 - timedelta(days=28), volume_ml=60)
    lots = [
        sv.manufacture_lot(
            t.db,
            pharm,
            aspiration_id=ctx["bma"],
            dose_number=n,
            manufactured_on=day0 - timedelta(days=3),
            expires_on=day0 + timedelta(days=200),
        )
        for n in (1, 2)
    ]
    sv.release_lot(t.db, pharm, lots[0].lot_number)
    ctx["lot_released"], ctx["lot_made"], ctx["coi"] = lots[0].lot_number, lots[1].lot_number, lots[0].coi_id
    sv.record_csf_sample(t.db, inv, code, visit="W0", sample_id="CSF-1", collected_at=at0)
    ctx["ae"] = sv.record_adverse_event(
        t.db,
        inv,
        code,
        term="Headache",
        onset_date=day0,
        severity="MILD",
        relatedness="POSSIBLY RELATED",
        action_taken="DOSE NOT CHANGED",
        outcome="RECOVERED/RESOLVED",
        resolution_date=day0 + timedelta(days=2),
    )
    ctx["query"] = sv.open_query(
        t.db, t["data_manager"], entity="adverse_event", entity_id=ctx["ae"], field="term", text="MedDRA term?"
    ).id
    return ctx

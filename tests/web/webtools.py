"""Helpers of the web tests: signing in through the API and the login form, posting forms, a prepared trial."""

from __future__ import annotations

import re
import sys
from pathlib import Path
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
    """State on which every API operation of ``test_api`` succeeds once, in table order: the services'
    own test state (tests/services/capture_calls.py: an eligible, an enrolled and a randomized
    participant at day 0 with an aspiration, a released and a made lot, a CSF sample, an adverse
    event and an open query), plus day 0 and its 10:00 UTC for building request bodies."""
    services_tests = str(Path(__file__).resolve().parents[1] / "services")
    if services_tests not in sys.path:
        sys.path.insert(0, services_tests)
    from capture_calls import AT0, DAY0
    from capture_calls import prepare as prepare_services

    return {**prepare_services(t), "day0": DAY0, "at0": AT0}

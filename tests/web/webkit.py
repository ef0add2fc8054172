"""Web fixtures: the app over the seeded trial (SQLite and PostgreSQL), API clients signed in per role."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from alstrial.web.app import create_app
from alstrial.web.settings import Settings
from conftest import PASSWORD, Trial

TEST_SECRET = "test-secret-" + "x" * 40


@pytest.fixture
def app(trial: Trial) -> FastAPI:
    return create_app(Settings(mode="production", secret_key=TEST_SECRET, db="unused"), db=trial.db)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def token_for(client: TestClient, username: str, password: str = PASSWORD) -> str:
    r = client.post("/api/v1/tokens", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


@pytest.fixture
def as_user(client: TestClient) -> Callable[[str], dict[str, str]]:
    """``as_user("investigator")`` → headers with that user's bearer token (cached per test)."""
    cache: dict[str, dict[str, str]] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in cache:
            cache[username] = {"Authorization": f"Bearer {token_for(client, username)}"}
        return cache[username]

    return headers


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

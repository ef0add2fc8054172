"""Web test fixtures (a pytest plugin: test modules say ``pytest_plugins = ["webfixtures"]``).

The app over the seeded trial of tests/conftest.py (SQLite and PostgreSQL), a test client, and
bearer-token headers per user.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from webtools import TEST_SECRET, token_for

from alstrial.web.app import create_app
from alstrial.web.settings import Settings
from conftest import Trial


@pytest.fixture
def app(trial: Trial) -> FastAPI:
    return create_app(Settings(mode="production", secret_key=TEST_SECRET, db="unused"), db=trial.db)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def as_user(client: TestClient) -> Callable[[str], dict[str, str]]:
    """``as_user("investigator")`` → headers with that user's bearer token (cached per test)."""
    cache: dict[str, dict[str, str]] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in cache:
            cache[username] = {"Authorization": f"Bearer {token_for(client, username)}"}
        return cache[username]

    return headers

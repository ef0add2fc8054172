"""Settings refuse an insecure secret outside development; every error kind has its status; no 500 leaks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner
from webtools import TEST_SECRET

from alstrial.cli import app as cli
from alstrial.errors import AlstrialError, Problem, ValidationFailed
from alstrial.services import (
    AllocationConcealed,
    AuthenticationFailed,
    Conflict,
    DatabaseBusy,
    DatabaseLocked,
    NotFound,
    PermissionDenied,
    StaleVersion,
)
from alstrial.web import errors
from alstrial.web.settings import DEFAULT_SECRET, Settings


def test_default_secret_is_refused_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALSTRIAL_SECRET_KEY", raising=False)
    monkeypatch.delenv("ALSTRIAL_MODE", raising=False)
    with pytest.raises(ValidationFailed) as exc:
        Settings()
    assert exc.value.problems[0].where == "ALSTRIAL_SECRET_KEY"
    with pytest.raises(ValidationFailed, match="problem"):
        Settings(secret_key="short")
    assert Settings(mode="development").secret_key == DEFAULT_SECRET


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALSTRIAL_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("ALSTRIAL_DB", "postgresql://db/x")
    monkeypatch.setenv("ALSTRIAL_TOKEN_SECONDS", "600")
    s = Settings()
    assert (s.db, s.token_seconds, s.mode) == ("postgresql://db/x", 600, "production")


def test_serve_refuses_to_start_with_the_default_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.delenv("ALSTRIAL_SECRET_KEY", raising=False)
    monkeypatch.delenv("ALSTRIAL_MODE", raising=False)
    result = CliRunner().invoke(cli, ["serve", "--db", f"{tmp_path}/x.db", "--port", "1"])
    assert result.exit_code == 2
    assert "ALSTRIAL_SECRET_KEY" in result.output


@pytest.mark.parametrize("processes", ["1", "2"])
def test_serve_names_a_missing_database_once(tmp_path: Path, processes: str) -> None:
    env = {"ALSTRIAL_SECRET_KEY": TEST_SECRET}
    result = CliRunner().invoke(
        cli, ["serve", "--db", f"{tmp_path}/absent.db", "--port", "1", "--processes", processes], env=env
    )
    assert result.exit_code == 2 and "no database file at" in result.output and "Traceback" not in result.output


def test_serve_help() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0 and "--host" in result.output and "--port" in result.output


CASES: list[tuple[AlstrialError, int]] = [
    (ValidationFailed([Problem("q3", 7, "expected 0-4")], context="ALSFRS-R"), 422),
    (NotFound("no participant 'X'"), 404),
    (PermissionDenied("no"), 403),
    (AllocationConcealed("blinded"), 403),
    (AuthenticationFailed("sign-in failed"), 401),
    (Conflict("already"), 409),
    (StaleVersion("changed", current_version=3, changed_by="amy"), 409),
    (DatabaseLocked("locked"), 423),
    (DatabaseBusy("busy"), 503),
]


def _app() -> FastAPI:
    app = FastAPI()
    errors.install(app)

    @app.get("/api/case/{i}")
    def case(i: int) -> None:
        raise CASES[i][0]

    @app.get("/api/boom")
    def boom() -> None:
        raise RuntimeError("psycopg.OperationalError: connection to server at 10.0.0.5 password=hunter2 failed")

    return app


@pytest.mark.parametrize("i", range(len(CASES)))
def test_each_error_kind_maps_to_its_status(i: int) -> None:
    with TestClient(_app()) as client:
        r = client.get(f"/api/case/{i}")
    exc, status = CASES[i]
    assert r.status_code == status
    body = r.json()["error"]
    assert body["kind"] == exc.kind and body["type"] == type(exc).__name__
    if isinstance(exc, ValidationFailed):
        assert body["problems"] == [{"where": "q3", "value": 7, "reason": "expected 0-4"}]
    if isinstance(exc, StaleVersion):
        assert (body["current_version"], body["changed_by"]) == (3, "amy")


def test_unexpected_errors_are_a_generic_500_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    with TestClient(_app(), raise_server_exceptions=False) as client:
        r = client.get("/api/boom")
    assert r.status_code == 500
    assert "hunter2" not in r.text and "psycopg" not in r.text
    assert r.json()["error"]["message"] == errors.GENERIC_500
    assert any("unexpected error" in rec.message for rec in caplog.records)


@pytest.mark.parametrize("processes", [1, 2])
def test_alstrial_serve_serves_pages_and_the_api(sqlite_template: str, tmp_path: Path, processes: int) -> None:
    """The real command in a subprocess (uvicorn), on a database with no trial set up yet; with
    ``--processes 2`` a session cookie signed by one process is honoured by the other."""
    import http.cookiejar
    import re
    import shutil
    import socket
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.parse
    import urllib.request

    db = tmp_path / "served.db"
    shutil.copyfile(sqlite_template, db)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).with_name("alstrial")
    env = {"PATH": os.environ.get("PATH", ""), "ALSTRIAL_SECRET_KEY": TEST_SECRET}
    proc = subprocess.Popen(
        [str(exe), "serve", "--db", str(db), "--port", str(port), "--processes", str(processes)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/login", timeout=2) as r:
                    assert r.status == 200 and b"Sign in" in r.read()
                    assert "HttpOnly" in r.headers["set-cookie"] and r.headers["x-frame-options"] == "DENY"
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "alstrial serve did not start"
                time.sleep(0.2)
        with urllib.request.urlopen(f"{base}/api/v1/openapi.json", timeout=5) as r:
            assert json.loads(r.read())["info"]["title"] == "alstrial capture API"
            assert "set-cookie" not in r.headers  # the API uses bearer tokens only
        # each sign-in form's CSRF token lives in the signed session cookie: a wrong password (401),
        # never a refused form (403), whichever process answers the post
        for attempt in range(8):
            browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
            with browser.open(f"{base}/login", timeout=5) as page:
                form = page.read().decode()
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
            assert csrf is not None
            data = {"username": f"nobody{attempt}", "password": "wrong-password-x", "csrf_token": csrf.group(1)}
            with pytest.raises(urllib.error.HTTPError) as refused:
                browser.open(f"{base}/login", data=urllib.parse.urlencode(data).encode(), timeout=30)
            with refused.value as answer:
                assert answer.code == 401, answer.read()[:300]
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert f"127.0.0.1:{port}" in out.decode()
    assert out.decode().count("Started server process") == processes

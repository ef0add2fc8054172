"""Sign-in, sessions, bearer tokens, throttling and cookie flags."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from webtools import TEST_SECRET, csrf_of, sign_in, token_for

from alstrial.services.users import MAX_FAILED_SIGN_INS
from alstrial.web.app import create_app
from alstrial.web.security import SESSION_COOKIE, Signer
from alstrial.web.settings import Settings
from conftest import PASSWORD, Trial

pytest_plugins = ["webfixtures"]


def test_token_sign_in_and_me(client: TestClient) -> None:
    token = token_for(client, "investigator")
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json() == {"username": "investigator", "role": "investigator", "site": "S01"}


def test_wrong_password_is_401_without_saying_which_part_was_wrong(client: TestClient) -> None:
    wrong_pw = client.post("/api/v1/tokens", json={"username": "investigator", "password": "nope"})
    no_user = client.post("/api/v1/tokens", json={"username": "nobody", "password": "nope"})
    assert wrong_pw.status_code == no_user.status_code == 401
    assert wrong_pw.json()["error"]["message"] == no_user.json()["error"]["message"]


def test_account_locks_after_repeated_failures(client: TestClient) -> None:
    for _ in range(MAX_FAILED_SIGN_INS):
        client.post("/api/v1/tokens", json={"username": "monitor", "password": "wrong"})
    right = client.post("/api/v1/tokens", json={"username": "monitor", "password": PASSWORD})
    assert right.status_code == 401  # locked: even the right password is refused for now


def test_throttle_answers_429_per_address(trial: Trial) -> None:
    app = create_app(
        Settings(secret_key=TEST_SECRET, db="unused", throttle_failures=3, throttle_seconds=60), db=trial.db
    )
    with TestClient(app) as client:
        codes = [
            client.post("/api/v1/tokens", json={"username": f"ghost{i}", "password": "x"}).status_code for i in range(4)
        ]
        assert codes == [401, 401, 401, 429]
        page = client.get("/login")
        r = client.post("/login", data={"username": "x", "password": "y", "csrf_token": csrf_of(page.text)})
        assert r.status_code == 429


def test_forged_and_expired_tokens_are_refused(client: TestClient, trial: Trial) -> None:
    token = token_for(client, "monitor")
    forged = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    other_key = Signer("another-secret-" + "y" * 40, session_seconds=60, token_seconds=60)
    from alstrial.services.setup import bootstrap_actor

    alien = other_key.dump_token(bootstrap_actor(trial.db, "admin"))
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {alien}"}).status_code == 401
    signer = Signer(TEST_SECRET, session_seconds=60, token_seconds=60)
    assert signer.load_token(token) is not None
    signer.token_seconds = 0
    time.sleep(1.1)
    assert signer.load_token(token) is None  # expired


def test_session_cookie_flags(client: TestClient) -> None:
    r = client.get("/login")
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Secure" not in cookie  # plain http here
    https = TestClient(client.app, base_url="https://testserver")
    assert "Secure" in https.get("/login").headers["set-cookie"]


def test_sign_in_issues_a_new_session_and_sign_out_ends_it(client: TestClient) -> None:
    before = csrf_of(client.get("/login").text)
    sign_in(client, "monitor")
    after = csrf_of(client.get("/").text)
    assert before != after  # no session fixation
    assert client.get("/participants").status_code == 200
    client.post("/logout", data={"csrf_token": after})
    assert client.get("/participants", follow_redirects=False).status_code == 303


def test_login_page_shows_a_failure_and_keeps_the_name(client: TestClient) -> None:
    page = client.get("/login")
    r = client.post("/login", data={"username": "monitor", "password": "bad", "csrf_token": csrf_of(page.text)})
    assert r.status_code == 401 and "sign-in failed" in r.text and 'value="monitor"' in r.text


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
def test_no_open_redirect_after_sign_in(client: TestClient, target: str) -> None:
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"username": "monitor", "password": PASSWORD, "next": target, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_a_tampered_session_cookie_is_ignored(client: TestClient) -> None:
    sign_in(client, "admin")
    value = client.cookies[SESSION_COOKIE]
    tampered = value[:5] + ("A" if value[5] != "A" else "B") + value[6:]  # inside the signed payload
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, tampered)
    assert len(client.cookies) == 1
    assert client.get("/admin/users", follow_redirects=False).status_code == 303  # back to the login form
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, value)  # control: the untouched cookie still works
    assert client.get("/admin/users", follow_redirects=False).status_code == 200

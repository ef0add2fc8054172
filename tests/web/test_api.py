"""Every API operation on SQLite and PostgreSQL: happy path, invalid input, wrong role, wrong site.

``OPS`` has one entry per API route (a route missing from it fails ``test_every_api_route_is_in_the_table``).
Each entry says how to call the operation on the state ``webtools.prepare`` builds, a role that may,
a role that may not (403), a body the API refuses (422), and whether another site's investigator
gets 404 (site isolation: another site's participant looks exactly like a missing one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api_table import ELSEWHERE, OPS, Ctx, Op, R
from fastapi.testclient import TestClient
from webtools import prepare

from alstrial import services as sv
from alstrial.web.routes import iter_routes
from conftest import PASSWORD, Trial, snapshot

pytest_plugins = ["webfixtures"]


def _call(client: TestClient, op: Op, ctx: Ctx, headers: dict[str, str], body: Any = None, query: str = "") -> Any:
    url = op.path(ctx)
    if query:
        url += ("&" if "?" in url else "?") + query
    if op.method == "GET":
        return client.get(url, headers=headers)
    return client.post(url, headers=headers, json=body if body is not None else (op.body(ctx) if op.body else None))


def test_every_api_route_is_in_the_table(client: TestClient) -> None:
    api = {(m, p) for m, p in iter_routes(client.app) if p.startswith("/api/")}  # type: ignore[arg-type]
    table = {(op.method, op.route) for op in OPS}
    assert api - table - ELSEWHERE == set(), "API routes without a test entry"
    assert table - api == set(), "test entries without a route"


def test_happy_path_of_every_operation(
    client: TestClient, trial: Trial, as_user: Callable[[str], dict[str, str]]
) -> None:
    ctx = prepare(trial)
    for op in OPS:
        if op.before:
            op.before(trial, ctx)
        r = _call(client, op, ctx, as_user(op.role))
        assert r.status_code == op.status, (op.name, r.text)
        for check in op.checks:
            assert check(ctx, r.json()), (op.name, r.text)


def test_invalid_input_is_422_with_problems_and_writes_nothing(
    client: TestClient, trial: Trial, as_user: Callable[[str], dict[str, str]]
) -> None:
    ctx = prepare(trial)
    tested = 0
    for op in OPS:
        if op.bad is None:
            continue
        before = snapshot(trial.db)
        if isinstance(op.bad, str):
            r = _call(client, op, ctx, as_user(op.role), query=op.bad)
        else:
            r = _call(client, op, ctx, as_user(op.role), body=op.bad(ctx))
        assert r.status_code == 422, (op.name, r.text)
        error = r.json()["error"]
        assert error["kind"] == "invalid" and error["problems"], (op.name, error)
        assert all(p["reason"] for p in error["problems"]), (op.name, error)
        assert snapshot(trial.db) == before, op.name
        tested += 1
    assert tested >= 30


def test_wrong_role_is_403_and_writes_nothing(
    client: TestClient, trial: Trial, as_user: Callable[[str], dict[str, str]]
) -> None:
    ctx = prepare(trial)
    for op in OPS:
        if op.wrong_role is None:
            continue
        before = snapshot(trial.db)
        r = _call(client, op, ctx, as_user(op.wrong_role))
        assert r.status_code == 403, (op.name, op.wrong_role, r.text)
        assert r.json()["error"]["kind"] == "forbidden"
        assert snapshot(trial.db) == before, op.name


def test_other_sites_participant_is_404_and_writes_nothing(
    client: TestClient, trial: Trial, as_user: Callable[[str], dict[str, str]]
) -> None:
    """investigator2 works at S02; every participant-bound operation on an S01 participant looks missing."""
    ctx = prepare(trial)
    site_ops = [op for op in OPS if op.site_bound]
    assert len(site_ops) >= 15
    for op in site_ops:
        before = snapshot(trial.db)
        r = _call(client, op, ctx, as_user("investigator2"))
        assert r.status_code == 404, (op.name, r.text)
        assert r.json()["error"]["kind"] == "not_found"
        assert snapshot(trial.db) == before, op.name
    listed = client.get(f"{R}/participants", headers=as_user("investigator2")).json()
    assert listed == []


def test_every_operation_needs_a_token(client: TestClient, trial: Trial) -> None:
    ctx = prepare(trial)
    for op in OPS:
        for headers in ({}, {"Authorization": "Bearer forged.token.value"}):
            r = _call(client, op, ctx, headers)
            assert r.status_code == 401, (op.name, r.text)
            assert r.headers["WWW-Authenticate"] == "Bearer"


def test_stale_version_is_409_showing_the_current_version(
    client: TestClient, trial: Trial, as_user: Callable[[str], dict[str, str]]
) -> None:
    ctx = prepare(trial)
    body = {
        "entity": "adverse_event",
        "entity_id": ctx["ae"],
        "field": "term",
        "new_value": "Headache after lumbar puncture",
        "reason": "query",
        "version": 1,
    }
    first = client.post(f"{R}/corrections", json=body, headers=as_user("investigator"))
    assert first.status_code == 200 and first.json()["version"] == 2
    second = client.post(
        f"{R}/corrections", json={**body, "new_value": "Cephalalgia"}, headers=as_user("site_coordinator")
    )
    assert second.status_code == 409
    error = second.json()["error"]
    assert error["type"] == "StaleVersion" and error["current_version"] == 2 and error["changed_by"] == "investigator"
    events = client.get(f"{R}/adverse-events?participant={ctx['rand']}", headers=as_user("monitor")).json()
    assert [e["term"] for e in events if e["id"] == ctx["ae"]] == ["Headache after lumbar puncture"]


def test_a_retried_create_with_its_request_key_creates_nothing_twice(
    client: TestClient, trial: Trial, as_user: Callable[[str], dict[str, str]]
) -> None:
    ctx = prepare(trial)
    op = next(o for o in OPS if o.name == "record_adverse_event")
    body = {**op.body(ctx), "request_key": "ae-form-1"}  # type: ignore[misc]
    first = _call(client, op, ctx, as_user("investigator"), body=body)
    before = snapshot(trial.db)
    again = _call(client, op, ctx, as_user("investigator"), body=body)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert snapshot(trial.db) == before


def test_lock_refuses_writes_with_423(
    client: TestClient, trial: Trial, as_user: Callable[[str], dict[str, str]]
) -> None:
    ctx = prepare(trial)
    body = {"reason": "LPLV", "password": PASSWORD, "override_reason": "test"}
    assert client.post(f"{R}/lock", json=body, headers=as_user("admin")).status_code == 200
    op = next(o for o in OPS if o.name == "record_weight")
    r = _call(client, op, ctx, as_user("site_coordinator"))
    assert r.status_code == 423 and r.json()["error"]["kind"] == "locked"
    assert "locked" in r.json()["error"]["message"]


#: public names of alstrial.services that are not called through their own API operation, and why
NOT_AN_OPERATION = {
    "authenticate": "POST /api/v1/tokens signs in",
    "setup_trial": "the trial is set up from its protocol file by `alstrial init`",
    "transaction": "internal: the services' transaction helper",
    "unit_of_work": "internal: several steps in one transaction",
    "verify_audit_trail": "`alstrial audit verify` (needs no sign-in)",
    "record_lab_result": "POST /api/v1/lab-results with one result (record_lab_results, which takes a request key)",
}


def test_every_service_has_an_api_operation() -> None:
    """A service added to alstrial.services must get an API operation (and an entry in api_table.OPS)."""
    import inspect

    functions = {n for n in sv.__all__ if inspect.isfunction(getattr(sv, n))}
    missing = functions - {op.name for op in OPS} - set(NOT_AN_OPERATION)
    assert missing == set(), f"services without an API operation: {sorted(missing)}"

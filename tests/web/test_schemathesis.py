"""Schemathesis over the OpenAPI document: generated valid and invalid requests to every operation
never get a server error (5xx), on SQLite and PostgreSQL.

Bounded so that it runs in well under a minute: a few examples per operation and mode. Each
operation is called as the role the API table gives it (so requests reach the services rather
than stopping at 403), once with generated path parameters and once with those of the prepared
trial (so that bodies reach existing records).
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from api_table import OPS
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from webtools import prepare, token_for

from alstrial.web.routes import iter_routes
from conftest import Trial

pytest_plugins = ["webfixtures"]

EXAMPLES = int(os.environ.get("ALSTRIAL_SCHEMATHESIS_EXAMPLES", "3"))
ROLE = {(op.method, op.route): op.role for op in OPS}


def test_openapi_document_lists_the_enumerations(app: FastAPI) -> None:
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        doc = client.get("/api/v1/openapi.json").json()
    schemas = doc["components"]["schemas"]
    assert schemas["AdverseEventIn"]["properties"]["severity"]["enum"] == ["MILD", "MODERATE", "SEVERE"]
    assert "site_coordinator" in schemas["UserIn"]["properties"]["role"]["enum"]
    assert "niv_start" in schemas["IntercurrentEventIn"]["properties"]["kind"]["enum"]
    assert "/api/v1/participants/{code}/visits/{visit}/alsfrs-r" in doc["paths"]
    visit_codes = schemas["VisitIn"]["properties"]["visit"]["enum"]
    assert visit_codes[:3] == ["SCR", "RUNIN", "BMA"] and "W28" in visit_codes  # from the stored protocol
    api_routes = {p for _, p in iter_routes(app) if p.startswith("/api/v1/") and "openapi" not in p and "docs" not in p}
    assert api_routes <= set(doc["paths"])


def test_no_server_error_for_generated_requests(app: FastAPI, trial: Trial) -> None:
    from fastapi.testclient import TestClient

    ctx = prepare(trial)
    fixed = {
        "code": ctx["rand"],
        "visit": "W0",
        "query_id": ctx["query"],
        "lot_number": ctx["lot_made"],
        "username": "monitor",
    }
    with TestClient(app) as client:
        tokens = {role: token_for(client, role) for role in set(ROLE.values())}
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    calls: list[int] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40
    for operation in operations:
        role = ROLE.get((operation.method.upper(), operation.path), "admin")
        headers = {"Authorization": f"Bearer {tokens.get(role) or tokens['admin']}"}
        names = {p.name for p in operation.path_parameters}
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            for path_parameters in ({}, {k: v for k, v in fixed.items() if k in names}):
                strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters or None)
                _no_server_error(strategy, headers, calls)()
    assert len(calls) >= len(operations) * 4
    assert 200 in calls or 201 in calls  # some generated requests got through to the services


def _no_server_error(strategy: Any, headers: dict[str, str], calls: list[int]) -> Any:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call(headers=headers)
        calls.append(response.status_code)
        assert response.status_code < 500, (case.method, case.formatted_path, response.text[:500])

    return run

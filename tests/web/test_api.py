"""Every API operation on SQLite and PostgreSQL: happy path, invalid input, wrong role, wrong site.

``OPS`` has one entry per API route (a route missing from it fails ``test_every_api_route_is_in_the_table``).
Each entry says how to call the operation on the state ``webkit.prepare`` builds, a role that may,
a role that may not (403), a body the API refuses (422), and whether another site's investigator
gets 404 (site isolation: another site's participant looks exactly like a missing one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from webtools import prepare

from alstrial import services as sv
from alstrial.web.routes import iter_routes
from conftest import Trial, alsfrs_items, snapshot

pytest_plugins = ["webfixtures"]

Ctx = dict[str, Any]


@dataclass(frozen=True)
class Op:
    name: str
    method: str
    route: str  # the route's path template, as FastAPI lists it
    path: Callable[[Ctx], str]
    role: str
    body: Callable[[Ctx], dict[str, Any]] | None = None
    status: int = 200
    bad: Callable[[Ctx], dict[str, Any]] | str | None = None  # an invalid body, or a query string
    wrong_role: str | None = None
    site_bound: bool = False
    before: Callable[[Trial, Ctx], object] | None = None
    checks: tuple[Callable[[Ctx, Any], object], ...] = field(default=())


def iso(value: Any) -> str:
    return value.isoformat()


R = "/api/v1"
OPS: list[Op] = [
    Op("me", "GET", f"{R}/me", lambda c: f"{R}/me", "monitor"),
    Op("protocol_visits", "GET", f"{R}/protocol/visits", lambda c: f"{R}/protocol/visits", "statistician"),
    Op(
        "protocol_screening_fields",
        "GET",
        f"{R}/protocol/screening-fields",
        lambda c: f"{R}/protocol/screening-fields",
        "site_coordinator",
    ),
    Op("list_sites", "GET", f"{R}/sites", lambda c: f"{R}/sites", "investigator"),
    Op(
        "add_site",
        "POST",
        f"{R}/sites",
        lambda c: f"{R}/sites",
        "admin",
        lambda c: {"code": "S99", "name": "Site 99"},
        201,
        lambda c: {"code": "S 9!", "name": "x", "country": "USA1"},
        "data_manager",
    ),
    Op("list_users", "GET", f"{R}/users", lambda c: f"{R}/users", "admin", wrong_role="investigator"),
    Op(
        "add_user",
        "POST",
        f"{R}/users",
        lambda c: f"{R}/users",
        "admin",
        lambda c: {"username": "newbie", "role": "statistician", "password": "long-enough-pw"},
        201,
        lambda c: {"username": "newbie", "role": "wizard", "password": "long-enough-pw"},
        "monitor",
    ),
    Op(
        "unlock_account",
        "POST",
        f"{R}/users/{{username}}/unlock",
        lambda c: f"{R}/users/monitor/unlock",
        "admin",
        lambda c: {"reason": "locked out by mistyping"},
        bad=lambda c: {"reason": ""},
        wrong_role="data_manager",
    ),
    Op(
        "list_participants",
        "GET",
        f"{R}/participants",
        lambda c: f"{R}/participants?limit=10",
        "site_coordinator",
        bad="status=lost",
    ),
    Op(
        "screen_participant",
        "POST",
        f"{R}/participants",
        lambda c: f"{R}/participants",
        "site_coordinator",
        lambda c: {
            "screened_on": "2025-01-06",
            "consent_date": "2025-01-06",
            "values": {
                "age_years": 45,
                "sex": "M",
                "el_escorial": "probable",
                "months_since_onset": 12,
                "onset_region": "limb",
                "alsfrs_r_total": 38,
                "svc_percent_predicted": 80.0,
                "riluzole": True,
                "prior_stem_cell_therapy": False,
                "edaravone_within_30_days": False,
                "experimental_agent_within_30_days": False,
            },
            "request_key": "screen-1",
        },
        201,
        lambda c: {"screened_on": "2025-01-06", "consent_date": "2025-01-06", "values": {"age_years": "old"}},
        "statistician",
    ),
    Op(
        "participant_detail",
        "GET",
        f"{R}/participants/{{code}}",
        lambda c: f"{R}/participants/{c['rand']}",
        "investigator",
        site_bound=True,
    ),
    Op(
        "enrol_participant",
        "POST",
        f"{R}/participants/{{code}}/enrol",
        lambda c: f"{R}/participants/{c['eligible']}/enrol",
        "site_coordinator",
        lambda c: {"enrolled_on": "2025-01-06"},
        bad=lambda c: {"enrolled_on": "yesterday"},
        wrong_role="lab_technician",
        site_bound=True,
    ),
    Op(
        "complete_runin",
        "POST",
        f"{R}/participants/{{code}}/runin",
        lambda c: f"{R}/participants/{c['enrolled']}/runin",
        "site_coordinator",
        wrong_role="monitor",
        site_bound=True,
    ),
    Op(
        "randomize_participant",
        "POST",
        f"{R}/participants/{{code}}/randomize",
        lambda c: f"{R}/participants/{c['enrolled']}/randomize",
        "investigator",
        wrong_role="data_manager",
        site_bound=True,
        checks=(lambda c, body: body["kit_code"].startswith("K-"),),
    ),
    Op(
        "participant_arm",
        "GET",
        f"{R}/participants/{{code}}/arm",
        lambda c: f"{R}/participants/{c['rand']}/arm",
        "pharmacist",
        wrong_role="investigator",
    ),
    Op(
        "visit_data",
        "GET",
        f"{R}/participants/{{code}}/visits",
        lambda c: f"{R}/participants/{c['rand']}/visits",
        "site_coordinator",
        site_bound=True,
    ),
    Op(
        "record_visit",
        "POST",
        f"{R}/participants/{{code}}/visits",
        lambda c: f"{R}/participants/{c['rand']}/visits",
        "site_coordinator",
        lambda c: {"visit": "W4", "visit_date": iso(c["day0"] + timedelta(days=28))},
        201,
        lambda c: {"visit": "W99", "visit_date": iso(c["day0"])},
        "pharmacist",
        site_bound=True,
    ),
    Op(
        "record_alsfrs",
        "POST",
        f"{R}/participants/{{code}}/visits/{{visit}}/alsfrs-r",
        lambda c: f"{R}/participants/{c['rand']}/visits/W0/alsfrs-r",
        "site_coordinator",
        lambda c: alsfrs_items(33),
        201,
        lambda c: {**alsfrs_items(33), "q5a": None},  # item 5 missing: the instrument's own message
        "lab_technician",
        site_bound=True,
        checks=(lambda c, body: body["score"]["total"] == 33,),
    ),
    Op(
        "record_vital_capacity",
        "POST",
        f"{R}/participants/{{code}}/visits/{{visit}}/vital-capacity",
        lambda c: f"{R}/participants/{c['rand']}/visits/W0/vital-capacity",
        "site_coordinator",
        lambda c: {"percent_predicted": 78.0, "liters": 3.1},
        201,
        lambda c: {"percent_predicted": 900},
        "monitor",
        site_bound=True,
    ),
    Op(
        "record_weight",
        "POST",
        f"{R}/participants/{{code}}/visits/{{visit}}/weight",
        lambda c: f"{R}/participants/{c['rand']}/visits/W0/weight",
        "site_coordinator",
        lambda c: {"weight_kg": 71.5},
        201,
        lambda c: {"weight_kg": "heavy"},
        "statistician",
        site_bound=True,
    ),
    Op(
        "record_csf_sample",
        "POST",
        f"{R}/participants/{{code}}/csf-samples",
        lambda c: f"{R}/participants/{c['rand']}/csf-samples",
        "lab_technician",
        lambda c: {"visit": "W0", "sample_id": "CSF-2", "collected_at": iso(c["at0"])},
        201,
        lambda c: {"visit": "W0", "sample_id": "CSF-3", "collected_at": "2025-04-06T10:00:00"},  # no time zone
        "site_coordinator",
        site_bound=True,
    ),
    Op(
        "record_lab_results",
        "POST",
        f"{R}/lab-results",
        lambda c: f"{R}/lab-results",
        "lab_technician",
        lambda c: {
            "sample_id": "CSF-1",
            "assay": "ELISA",
            "results": [
                {"analyte": "VEGF", "value": 40.0, "unit": "pg/mL"},
                {"analyte": "MCP1", "value": 0.3, "unit": "ng/mL"},
            ],
        },
        201,
        lambda c: {
            "sample_id": "CSF-1",
            "assay": "ELISA",
            "results": [{"analyte": "NFL", "value": 2.5, "unit": "furlongs"}],
        },
        "pharmacist",
    ),
    Op(
        "list_lab_samples",
        "GET",
        f"{R}/lab-samples",
        lambda c: f"{R}/lab-samples?participant={c['rand']}",
        "lab_technician",
        bad="limit=0",
    ),
    Op(
        "record_aspiration",
        "POST",
        f"{R}/participants/{{code}}/aspirations",
        lambda c: f"{R}/participants/{c['rand']}/aspirations",
        "investigator",
        lambda c: {"aspirated_at": iso(c["at0"]), "volume_ml": 50},
        201,
        lambda c: {"aspirated_at": iso(c["at0"]), "volume_ml": -1},
        "site_coordinator",
        site_bound=True,
    ),
    Op(
        "manufacture_lot",
        "POST",
        f"{R}/lots",
        lambda c: f"{R}/lots",
        "pharmacist",
        lambda c: {
            "aspiration_id": c["bma"],
            "dose_number": 3,
            "manufactured_on": iso(c["day0"]),
            "expires_on": iso(c["day0"] + timedelta(days=200)),
        },
        201,
        lambda c: {"aspiration_id": c["bma"], "dose_number": 3, "manufactured_on": "x", "expires_on": "y"},
        "investigator",
    ),
    Op(
        "release_lot",
        "POST",
        f"{R}/lots/{{lot_number}}/release",
        lambda c: f"{R}/lots/{c['lot_made']}/release",
        "pharmacist",
        wrong_role="investigator",
    ),
    Op("list_product_lots", "GET", f"{R}/lots", lambda c: f"{R}/lots", "pharmacist", bad="offset=-1"),
    Op(
        "administer_dose",
        "POST",
        f"{R}/participants/{{code}}/doses",
        lambda c: f"{R}/participants/{c['rand']}/doses",
        "investigator",
        lambda c: {
            "lot_number": c["lot_released"],
            "label_coi_id": c["coi"],
            "administered_at": iso(c["at0"]),
            "dose_number": 1,
        },
        201,
        lambda c: {
            "lot_number": c["lot_released"],
            "label_coi_id": c["coi"],
            "administered_at": "soon",
            "dose_number": 1,
        },
        "site_coordinator",
        site_bound=True,
    ),
    Op("list_doses", "GET", f"{R}/doses", lambda c: f"{R}/doses", "monitor", bad="limit=100000"),
    Op(
        "record_adverse_event",
        "POST",
        f"{R}/participants/{{code}}/adverse-events",
        lambda c: f"{R}/participants/{c['rand']}/adverse-events",
        "investigator",
        lambda c: {
            "term": "Back pain",
            "onset_date": iso(c["day0"]),
            "severity": "MODERATE",
            "relatedness": "RELATED",
            "action_taken": "DOSE NOT CHANGED",
            "outcome": "RECOVERING/RESOLVING",
        },
        201,
        lambda c: {
            "term": "Back pain",
            "onset_date": iso(c["day0"]),
            "severity": "HUGE",
            "relatedness": "RELATED",
            "action_taken": "DOSE NOT CHANGED",
            "outcome": "RECOVERING/RESOLVING",
        },
        "lab_technician",
        site_bound=True,
    ),
    Op("list_adverse_events", "GET", f"{R}/adverse-events", lambda c: f"{R}/adverse-events", "monitor", bad="limit=x"),
    Op(
        "record_intercurrent_event",
        "POST",
        f"{R}/participants/{{code}}/intercurrent-events",
        lambda c: f"{R}/participants/{c['rand']}/intercurrent-events",
        "investigator",
        lambda c: {"kind": "niv_start", "event_date": iso(c["day0"] + timedelta(days=40))},
        201,
        lambda c: {"kind": "alien_abduction", "event_date": iso(c["day0"])},
        "data_manager",
        site_bound=True,
    ),
    Op(
        "list_intercurrent_events",
        "GET",
        f"{R}/intercurrent-events",
        lambda c: f"{R}/intercurrent-events",
        "statistician",
        bad="offset=abc",
    ),
    Op(
        "correct_value",
        "POST",
        f"{R}/corrections",
        lambda c: f"{R}/corrections",
        "investigator",
        lambda c: {
            "entity": "adverse_event",
            "entity_id": c["ae"],
            "field": "term",
            "new_value": "Post-lumbar-puncture headache",
            "reason": "query answered",
            "version": 1,
        },
        bad=lambda c: {
            "entity": "adverse_event",
            "entity_id": c["ae"],
            "field": "severity",
            "new_value": "HUGE",
            "reason": "x",
            "version": 1,
        },
        wrong_role="monitor",
    ),
    Op("list_queries", "GET", f"{R}/queries", lambda c: f"{R}/queries?status=open", "monitor", bad="status=maybe"),
    Op(
        "open_query",
        "POST",
        f"{R}/queries",
        lambda c: f"{R}/queries",
        "data_manager",
        lambda c: {"entity": "adverse_event", "entity_id": c["ae"], "field": "severity", "text": "Consistent?"},
        201,
        lambda c: {"entity": "adverse_event", "entity_id": c["ae"], "field": "colour", "text": "?"},
        "investigator",
    ),
    Op(
        "answer_query",
        "POST",
        f"{R}/queries/{{query_id}}/answer",
        lambda c: f"{R}/queries/{c['query']}/answer",
        "investigator",
        lambda c: {"answer": "Term updated"},
        bad=lambda c: {"answer": ""},
        wrong_role="data_manager",
    ),
    Op(
        "close_query",
        "POST",
        f"{R}/queries/{{query_id}}/close",
        lambda c: f"{R}/queries/{c['query']}/close",
        "data_manager",
        lambda c: {"note": "resolved"},
        bad=lambda c: {"note": 5},
        wrong_role="site_coordinator",
    ),
    Op(
        "audit_log",
        "GET",
        f"{R}/audit",
        lambda c: f"{R}/audit?entity=adverse_event",
        "monitor",
        bad="limit=-5",
        wrong_role="investigator",
    ),
    Op(
        "discontinue_treatment",
        "POST",
        f"{R}/participants/{{code}}/discontinuation",
        lambda c: f"{R}/participants/{c['rand']}/discontinuation",
        "investigator",
        lambda c: {
            "on": iso(c["day0"] + timedelta(days=60)),
            "reason_code": "ADVERSE EVENT",
            "decided_by": "investigator",
        },
        201,
        lambda c: {"on": iso(c["day0"]), "reason_code": "BORED", "decided_by": "investigator"},
        "site_coordinator",
        site_bound=True,
    ),
    Op(
        "withdraw_participant",
        "POST",
        f"{R}/participants/{{code}}/withdrawal",
        lambda c: f"{R}/participants/{c['rand']}/withdrawal",
        "investigator",
        lambda c: {
            "on": iso(c["day0"] + timedelta(days=90)),
            "reason_code": "WITHDRAWAL BY SUBJECT",
            "decided_by": "participant",
        },
        201,
        lambda c: {"on": iso(c["day0"]), "reason_code": "WITHDRAWAL BY SUBJECT", "decided_by": "the cat"},
        "site_coordinator",
        site_bound=True,
    ),
    Op(
        "emergency_unblind",
        "POST",
        f"{R}/participants/{{code}}/emergency-unblinding",
        lambda c: f"{R}/participants/{c['rand']}/emergency-unblinding",
        "investigator",
        lambda c: {"reason": "SAE management"},
        bad=lambda c: {},
        wrong_role="site_coordinator",
        site_bound=True,
    ),
    Op("list_unblindings", "GET", f"{R}/unblindings", lambda c: f"{R}/unblindings", "monitor"),
    Op(
        "allocation_list",
        "GET",
        f"{R}/allocation-list",
        lambda c: f"{R}/allocation-list",
        "unblinded_statistician",
        wrong_role="statistician",
    ),
    Op(
        "lock_database",
        "POST",
        f"{R}/lock",
        lambda c: f"{R}/lock",
        "data_manager",
        lambda c: {"reason": "LPLV"},
        bad=lambda c: {"reason": " "},
        wrong_role="investigator",
    ),
    Op(
        "unlock_database",
        "POST",
        f"{R}/unlock",
        lambda c: f"{R}/unlock",
        "admin",
        lambda c: {"reason": "late query"},
        bad=lambda c: {"why": "late query"},
        wrong_role="data_manager",
    ),
    Op(
        "unblind_trial",
        "POST",
        f"{R}/unblinding",
        lambda c: f"{R}/unblinding",
        "unblinded_statistician",
        lambda c: {"reason": "final analysis"},
        bad=lambda c: {"reason": 42},
        wrong_role="statistician",
        before=lambda t, c: sv.lock_database(t.db, t["data_manager"], reason="final lock"),
    ),
]
#: routes tested elsewhere (sign-in: test_auth.py; the OpenAPI document and its viewer: test_schemathesis.py)
ELSEWHERE = {
    ("POST", f"{R}/tokens"),
    ("GET", f"{R}/openapi.json"),
    ("GET", f"{R}/docs"),
    ("GET", f"{R}/docs/oauth2-redirect"),
}


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
    assert client.post(f"{R}/lock", json={"reason": "LPLV"}, headers=as_user("data_manager")).status_code == 200
    op = next(o for o in OPS if o.name == "record_weight")
    r = _call(client, op, ctx, as_user("site_coordinator"))
    assert r.status_code == 423 and r.json()["error"]["kind"] == "locked"
    assert "locked" in r.json()["error"]["message"]

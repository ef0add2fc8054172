"""Blinding and site isolation over EVERY route of the app, as EVERY role.

Each role gets a fresh trial with randomized participants (so allocations exist) and then calls
every route: every API operation with its bearer token, every page (GET, and POST with the CSRF
token, following the redirect so that the message shown afterwards is checked too). Before the
trial is unblinded, no response to a blinded role may contain an arm's code or name (the
protocol's, read from the stored protocol), whatever the status. A route of the app missing from
this test's tables fails ``test_every_route_is_covered``.

Routes that change the trial's state for everyone (lock, unlock, full unblinding) run last; the
emergency unblinding of one participant answers its arm to the investigator by design (audited),
so that response (API and page) is exempt for that role, and only that one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from api_table import ELSEWHERE, OPS, Ctx, R
from fastapi import FastAPI
from fastapi.testclient import TestClient
from webtools import PASSWORD, TEST_SECRET, csrf_of, prepare, sign_in, token_for

from alstrial import services as sv
from alstrial.services.policy import BLINDED_ROLES, ROLES
from alstrial.web.app import create_app
from alstrial.web.routes import iter_routes
from alstrial.web.settings import Settings
from conftest import Trial, alsfrs_items, make_trial

pytest_plugins = ["webfixtures"]

Form = Callable[[Ctx], dict[str, Any]]
#: every page route: (method, route) → (url, form data for a POST)
PAGES: dict[tuple[str, str], tuple[Callable[[Ctx], str], Form | None]] = {
    ("GET", "/login"): (lambda c: "/login", None),
    ("POST", "/login"): (lambda c: "/login", lambda c: {"username": c["role"], "password": PASSWORD, "next": "/"}),
    ("GET", "/"): (lambda c: "/", None),
    ("GET", "/participants"): (lambda c: "/participants", None),
    ("GET", "/participants/{code}"): (lambda c: f"/participants/{c['rand']}", None),
    ("POST", "/participants/{code}/enrol"): (
        lambda c: f"/participants/{c['eligible']}/enrol",
        lambda c: {"enrolled_on": "2025-01-06"},
    ),
    ("POST", "/participants/{code}/randomize"): (lambda c: f"/participants/{c['enrolled']}/randomize", lambda c: {}),
    ("POST", "/participants/{code}/visits"): (
        lambda c: f"/participants/{c['rand']}/visits",
        lambda c: {"visit": "W4", "visit_date": (c["day0"] + timedelta(days=28)).isoformat()},
    ),
    ("GET", "/screening"): (lambda c: "/screening", None),
    ("POST", "/screening"): (
        lambda c: "/screening",
        lambda c: {
            "screened_on": "2025-01-06",
            "consent_date": "2025-01-06",
            "site": "S01",
            "value_age_years": "45",
            "value_sex": "F",
            "value_el_escorial": "definite",
            "value_months_since_onset": "10",
            "value_onset_region": "bulbar",
            "value_alsfrs_r_total": "40",
            "value_svc_percent_predicted": "85",
            "value_riluzole": "yes",
            "value_prior_stem_cell_therapy": "no",
            "value_edaravone_within_30_days": "no",
            "value_experimental_agent_within_30_days": "no",
        },
    ),
    ("GET", "/participants/{code}/visits/{visit}/alsfrs-r"): (
        lambda c: f"/participants/{c['rand']}/visits/RUNIN/alsfrs-r",
        None,
    ),
    ("POST", "/participants/{code}/visits/{visit}/alsfrs-r"): (
        lambda c: f"/participants/{c['rand']}/visits/W0/alsfrs-r",
        lambda c: {k: str(v) for k, v in alsfrs_items(31).items()},
    ),
    ("GET", "/corrections"): (
        lambda c: f"/corrections?entity=adverse_event&entity_id={c['ae']}&field=term&participant={c['rand']}",
        None,
    ),
    ("POST", "/corrections"): (
        lambda c: "/corrections",
        lambda c: {
            "entity": "adverse_event",
            "entity_id": str(c["ae"]),
            "field": "term",
            "version": "1",
            "new_value": "Post-LP headache",
            "reason": "query",
            "participant": c["rand"],
        },
    ),
    ("GET", "/history"): (lambda c: f"/history?participant={c['rand']}", None),
    ("GET", "/queries"): (lambda c: "/queries?status=", None),
    ("POST", "/queries"): (
        lambda c: "/queries",
        lambda c: {"entity": "adverse_event", "entity_id": str(c["ae"]), "field": "severity", "text": "Severe?"},
    ),
    ("POST", "/queries/{query_id}/answer"): (lambda c: f"/queries/{c['query']}/answer", lambda c: {"answer": "Mild"}),
    ("POST", "/queries/{query_id}/close"): (lambda c: f"/queries/{c['query']}/close", lambda c: {"note": "ok"}),
    ("GET", "/participants/{code}/adverse-events/new"): (
        lambda c: f"/participants/{c['rand']}/adverse-events/new",
        None,
    ),
    ("POST", "/participants/{code}/adverse-events"): (
        lambda c: f"/participants/{c['rand']}/adverse-events",
        lambda c: {
            "term": "Nausea",
            "onset_date": c["day0"].isoformat(),
            "severity": "MILD",
            "relatedness": "UNLIKELY RELATED",
            "action_taken": "DOSE NOT CHANGED",
            "outcome": "RECOVERED/RESOLVED",
        },
    ),
    ("GET", "/participants/{code}/doses/new"): (lambda c: f"/participants/{c['rand']}/doses/new", None),
    ("POST", "/participants/{code}/doses"): (
        lambda c: f"/participants/{c['rand']}/doses",
        lambda c: {
            "lot_number": c["lot_released"],
            "label_coi_id": c["coi"],
            "administered_at": f"{c['day0'].isoformat()}T11:00",
            "dose_number": "1",
        },
    ),
    ("GET", "/participants/{code}/disposition"): (lambda c: f"/participants/{c['rand']}/disposition", None),
    ("POST", "/participants/{code}/disposition"): (
        lambda c: f"/participants/{c['rand']}/disposition",
        lambda c: {
            "what": "discontinue",
            "on": (c["day0"] + timedelta(days=60)).isoformat(),
            "reason_code": "ADVERSE EVENT",
            "decided_by": "investigator",
        },
    ),
    ("POST", "/participants/{code}/intercurrent-events"): (
        lambda c: f"/participants/{c['rand']}/intercurrent-events",
        lambda c: {"kind": "gastrostomy", "event_date": (c["day0"] + timedelta(days=50)).isoformat()},
    ),
    ("GET", "/participants/{code}/csf"): (lambda c: f"/participants/{c['rand']}/csf", None),
    ("POST", "/participants/{code}/csf"): (
        lambda c: f"/participants/{c['rand']}/csf",
        lambda c: {"visit": "W0", "sample_id": "CSF-9", "collected_at": f"{c['day0'].isoformat()}T09:00"},
    ),
    ("POST", "/participants/{code}/csf/results"): (
        lambda c: f"/participants/{c['rand']}/csf/results",
        lambda c: {"sample_id": "CSF-1", "analyte": "NFL", "value": "2.5", "unit": "ng/mL", "assay": "Simoa"},
    ),
    ("GET", "/admin/lock"): (lambda c: "/admin/lock", None),
    ("GET", "/admin/users"): (lambda c: "/admin/users", None),
    ("POST", "/admin/users"): (
        lambda c: "/admin/users",
        lambda c: {"username": f"new-{c['role']}", "role": "monitor", "password": "long-enough-pw"},
    ),
    ("POST", "/admin/users/{username}/unlock"): (
        lambda c: "/admin/users/monitor/unlock",
        lambda c: {"reason": "mistyped"},
    ),
    ("POST", "/admin/sites"): (lambda c: "/admin/sites", lambda c: {"code": "S77", "name": "Site 77", "country": "US"}),
    ("POST", "/admin/users/{username}/password"): (
        lambda c: "/admin/users/monitor/password",
        lambda c: {"new_password": "another-long-password"},
    ),
    ("POST", "/admin/users/{username}/deactivate"): (
        lambda c: "/admin/users/dsmb_member/deactivate",
        lambda c: {"reason": "left the team"},
    ),
    ("GET", "/account"): (lambda c: "/account", None),
    ("POST", "/account/password"): (
        lambda c: "/account/password",
        lambda c: {"current_password": PASSWORD, "new_password": PASSWORD},
    ),
    ("GET", "/participants/{code}/sign-off"): (lambda c: f"/participants/{c['rand']}/sign-off", None),
    ("POST", "/participants/{code}/sign-off"): (
        lambda c: f"/participants/{c['rand']}/sign-off",
        lambda c: {"meaning": "approval", "password": PASSWORD, "scope": "", "content_sha256": c["casebook_sha"]()},
    ),
    ("GET", "/signatures"): (lambda c: f"/signatures?participant={c['rand']}", None),
    ("GET", "/pharmacy"): (lambda c: "/pharmacy", None),
    ("POST", "/pharmacy/lots"): (
        lambda c: "/pharmacy/lots",
        lambda c: {
            "aspiration_id": str(c["bma"]),
            "dose_number": "3",
            "manufactured_on": c["day0"].isoformat(),
            "expires_on": (c["day0"] + timedelta(days=200)).isoformat(),
        },
    ),
    ("POST", "/pharmacy/lots/{lot_number}/release"): (
        lambda c: f"/pharmacy/lots/{c['lot_made']}/release",
        lambda c: {},
    ),
    ("GET", "/participants/{code}/visits/{visit}/measures"): (
        lambda c: f"/participants/{c['rand']}/visits/W0/measures",
        None,
    ),
    ("POST", "/participants/{code}/visits/{visit}/vital-capacity"): (
        lambda c: f"/participants/{c['rand']}/visits/W0/vital-capacity",
        lambda c: {"percent_predicted": "81", "test": "SVC", "position": "upright"},
    ),
    ("POST", "/participants/{code}/visits/{visit}/weight"): (
        lambda c: f"/participants/{c['rand']}/visits/W0/weight",
        lambda c: {"weight_kg": "70.5"},
    ),
    ("GET", "/admin/unblinding"): (lambda c: "/admin/unblinding", None),
    ("GET", "/favicon.ico"): (lambda c: "/favicon.ico", None),
    ("POST", "/logout"): (lambda c: "/logout", lambda c: {}),
    ("GET", "/participants/{code}/emergency-unblinding"): (
        lambda c: f"/participants/{c['rand']}/emergency-unblinding",
        None,
    ),
    ("POST", "/participants/{code}/emergency-unblinding"): (
        lambda c: f"/participants/{c['rand']}/emergency-unblinding",
        lambda c: {"reason": "SAE management", "password": PASSWORD},
    ),
    # last: routes that change the trial's state for everyone
    ("POST", "/admin/lock"): (
        lambda c: "/admin/lock",
        lambda c: {"what": "lock", "reason": "interim look", "password": PASSWORD, "override_reason": "test"},
    ),
    ("POST", "/admin/unblinding"): (
        lambda c: "/admin/unblinding",
        lambda c: {"reason": "final analysis", "password": PASSWORD},
    ),
}
OTHER = {("MOUNT", "/static"), ("GET", f"{R}/openapi.json"), ("GET", f"{R}/docs"), ("GET", f"{R}/docs/oauth2-redirect")}
#: API operations that run after every other route (they change the trial's state for everyone)
LAST_API = ("emergency_unblind", "lock_database", "unlock_database", "unblind_trial")


def arm_patterns(trial: Trial) -> list[re.Pattern[str]]:
    """Arm codes as whole tokens (case-sensitive), arm names and descriptions anywhere (any case)."""
    protocol = trial.db.protocol()
    out = []
    for arm in protocol.arms:
        out.append(re.compile(rf"(?<![A-Za-z0-9_-]){re.escape(arm.code)}(?![A-Za-z0-9_-])"))
        out.append(re.compile(re.escape(arm.name), re.IGNORECASE))
        if arm.description:
            out.append(re.compile(re.escape(arm.description), re.IGNORECASE))
    return out


def leaks(text: str, patterns: list[re.Pattern[str]]) -> list[str]:
    return [m.group(0) for p in patterns for m in [p.search(text)] if m]


def test_every_route_is_covered(app: FastAPI) -> None:
    routes = set(iter_routes(app))
    covered = set(PAGES) | {(op.method, op.route) for op in OPS} | OTHER | ELSEWHERE
    assert routes - covered == set(), "routes the blinding test does not call: add them to its tables"
    assert covered - routes == set(), "entries for routes that no longer exist"


def _page_call(client: TestClient, key: tuple[str, str], ctx: Ctx) -> Any:
    url, form = PAGES[key]
    if key[0] == "GET":
        return client.get(url(ctx))
    token = csrf_of(client.get("/login").text)
    return client.post(url(ctx), data={**form(ctx), "csrf_token": token}, follow_redirects=True)  # type: ignore[misc]


def _api_call(client: TestClient, op: Any, ctx: Ctx, headers: dict[str, str]) -> Any:
    if op.method == "GET":
        return client.get(op.path(ctx), headers=headers)
    return client.post(op.path(ctx), headers=headers, json=op.body(ctx) if op.body else None)


@pytest.mark.parametrize("role", [*ROLES, "investigator2"])
def test_no_arm_reaches_a_blinded_role_on_any_route(role: str, capture_db: Any) -> None:
    trial = make_trial(capture_db)
    ctx = prepare(trial)
    ctx["role"] = role
    ctx["casebook_sha"] = lambda: sv.signature_status(trial.db, trial["monitor"], ctx["rand"]).content_sha256
    patterns = arm_patterns(trial)
    blinded = role in BLINDED_ROLES or role == "investigator2"
    app = create_app(Settings(secret_key=TEST_SECRET, db="unused"), db=trial.db)
    seen: list[tuple[str, str, int, list[str]]] = []
    with TestClient(app, raise_server_exceptions=False) as client:
        headers = {"Authorization": f"Bearer {token_for(client, role)}"}

        def check(what: str, response: Any, *, exempt: bool = False) -> None:
            assert response.status_code < 500, (role, what, response.text)
            found = leaks(response.text, patterns) + leaks(response.headers.get("location", ""), patterns)
            if blinded and not exempt:
                assert not found, f"{role} received {found} from {what}: {response.text[:400]}"
            seen.append((role, what, response.status_code, found))

        check("GET /api/v1/openapi.json", client.get(f"{R}/openapi.json"))
        check("GET /api/v1/docs", client.get(f"{R}/docs"))
        check("GET /api/v1/docs/oauth2-redirect", client.get(f"{R}/docs/oauth2-redirect"))
        check("GET /static/site.css", client.get("/static/site.css"))
        check("POST /api/v1/tokens", client.post(f"{R}/tokens", json={"username": role, "password": "wrong"}))
        for op in [o for o in OPS if o.name not in LAST_API]:
            check(f"{op.method} {op.route}", _api_call(client, op, ctx, headers))
        sign_in(client, role)
        for key in PAGES:
            # the emergency unblinding shows the arm to the participant's investigator by design (audited)
            exempt = key == ("POST", "/participants/{code}/emergency-unblinding") and role == "investigator"
            check(f"{key[0]} {key[1]} (page)", _page_call(client, key, ctx), exempt=exempt)
            if key == ("POST", "/logout"):
                sign_in(client, role)
        for op in [o for o in OPS if o.name in LAST_API]:
            exempt = op.name == "emergency_unblind" and role == "investigator"
            check(f"{op.method} {op.route}", _api_call(client, op, ctx, headers), exempt=exempt)
    assert len(seen) == 5 + len(OPS) + len(PAGES)  # every route called once
    if role == "investigator":  # the exemptions are needed: the arm is there, and only there
        assert [what for _, what, _, found in seen if found] == [
            "POST /participants/{code}/emergency-unblinding (page)",
            "POST /api/v1/participants/{code}/emergency-unblinding",
        ]
    if role == "pharmacist":  # the detector finds arms where an unblinded role may see them
        assert any(found for _, what, status, found in seen if what.endswith("/arm}") or "/arm" in what)
        assert any(found for _, what, _, found in seen if what == "GET /pharmacy (page)")


@pytest.mark.parametrize("role", ["investigator2"])
def test_other_site_sees_no_participant_of_site_s01(role: str, trial: Trial, client: TestClient) -> None:
    """Lists and dashboards show an S02 investigator nothing of S01 (codes are S01-nnnn)."""
    prepare(trial)
    headers = {"Authorization": f"Bearer {token_for(client, role)}"}
    for url in (
        "/participants",
        "/adverse-events",
        "/doses",
        "/lab-samples",
        "/queries",
        "/intercurrent-events",
        "/lots",
    ):
        r = client.get(f"{R}{url}", headers=headers)
        assert r.status_code == 200 and "S01-" not in r.text, (url, r.text[:300])
    sign_in(client, role)
    for url in ("/", "/participants", "/queries?status="):
        r = client.get(url)
        assert r.status_code == 200 and "S01-" not in r.text, (url, r.text[:300])

"""Signing and account pages: casebook sign-off (password re-entry, the meaning shown, the digest
checked), the signature list, user deactivation and password reset/change, and field history for
site staff limited to their own site."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from webtools import csrf_of, post_form, prepare, sign_in

from alstrial import services as sv
from conftest import PASSWORD, Trial, snapshot

pytest_plugins = ["webfixtures"]


def _digest(page: str) -> str:
    m = re.search(r'name="content_sha256" id="content_sha256" value="([0-9a-f]{64})"', page)
    assert m, "the sign-off form carries the digest of what is shown"
    return m.group(1)


def test_casebook_sign_off_through_the_page(client: TestClient, trial: Trial) -> None:
    ctx = prepare(trial)
    code, url = ctx["rand"], f"/participants/{ctx['rand']}/sign-off"
    sign_in(client, "investigator")
    page = client.get(url)
    assert page.status_code == 200 and 'id="status-all"' in page.text and "unsigned" in page.text
    # the meaning being signed is shown, with what it declares
    assert "approve them as complete and accurate" in page.text and "Re-enter your password" in page.text
    form = {"scope": "", "meaning": "approval", "content_sha256": _digest(page.text)}

    before = snapshot(trial.db)
    wrong = post_form(client, url, url, {**form, "password": "not-my-password"})
    assert wrong.status_code == 401 and "nothing was signed" in wrong.text
    assert sv.signature_status(trial.db, trial["monitor"], code).state == "unsigned"
    after = snapshot(trial.db)
    assert {k: v for k, v in after.items() if not k.startswith("audit")} == {
        k: v for k, v in before.items() if not k.startswith("audit")
    }
    assert after["audit_record"] == before["audit_record"] + 1  # only the refusal, audited
    assert sv.audit_log(trial.db, trial["monitor"])[-1].action == "signature.refused"

    done = post_form(client, url, url, {**form, "password": PASSWORD})
    assert done.status_code == 303
    shown = client.get(url)
    assert "Signed the casebook of" in shown.text and re.search(r'id="status-all".*?sig-signed', shown.text, re.S)
    status = sv.signature_status(trial.db, trial["monitor"], code)
    assert status.state == "signed" and status.signatures[-1].meaning == "approval"

    # a change after the page was read: nothing is signed, the page says why
    stale = client.get(url)
    sv.correct_value(
        trial.db,
        trial["investigator"],
        entity="adverse_event",
        entity_id=ctx["ae"],
        field="term",
        new_value="Post-LP headache",
        reason="query",
        version=1,
    )
    r = client.post(
        url,
        data={**form, "content_sha256": _digest(stale.text), "password": PASSWORD, "csrf_token": csrf_of(stale.text)},
    )
    assert r.status_code == 409 and "changed after you opened this page" in r.text
    assert len(sv.signature_status(trial.db, trial["monitor"], code).signatures) == 1
    # the earlier signature is now broken, and the page and the list say so
    assert re.search(r'id="status-all".*?sig-broken', client.get(url).text, re.S)
    listed = client.get(f"/signatures?participant={code}")
    assert "broken" in listed.text and "adverse_events" in listed.text


def test_only_the_investigator_signs(client: TestClient, trial: Trial) -> None:
    ctx = prepare(trial)
    url = f"/participants/{ctx['rand']}/sign-off"
    sign_in(client, "site_coordinator")
    page = client.get(url)
    assert page.status_code == 200 and 'id="sign-form"' not in page.text
    r = post_form(client, url, url, {"meaning": "approval", "content_sha256": "0" * 64, "password": PASSWORD})
    assert r.status_code == 403


def test_admin_deactivates_and_resets_and_a_user_changes_their_own_password(client: TestClient, trial: Trial) -> None:
    sign_in(client, "admin")
    r = post_form(client, "/admin/users", "/admin/users/statistician/password", {"new_password": "fresh-long-password"})
    assert r.status_code == 303
    assert sv.authenticate(trial.db, "statistician", "fresh-long-password").username == "statistician"
    r = post_form(client, "/admin/users", "/admin/users/monitor/deactivate", {"reason": "left the CRO"})
    assert r.status_code == 303
    users = client.get("/admin/users").text
    assert "User monitor deactivated" in users and re.search(r"<td>monitor</td>.*?<td>no</td>", users, re.S)
    refused = client.post("/api/v1/tokens", json={"username": "monitor", "password": PASSWORD})
    assert refused.status_code == 401

    other = TestClient(client.app)
    sign_in(other, "site_coordinator")
    wrong = post_form(
        other, "/account", "/account/password", {"current_password": "guess-guess", "new_password": "brand-new-pass-1"}
    )
    assert wrong.status_code == 401
    ok = post_form(
        other, "/account", "/account/password", {"current_password": PASSWORD, "new_password": "brand-new-pass-1"}
    )
    assert ok.status_code == 303
    assert sv.authenticate(trial.db, "site_coordinator", "brand-new-pass-1").role == "site_coordinator"


def test_site_staff_read_the_field_history_of_their_own_site_only(client: TestClient, trial: Trial) -> None:
    ctx = prepare(trial)
    sign_in(client, "site_coordinator")
    own = client.get(f"/history?entity=adverse_event&entity_id={ctx['ae']}")
    assert own.status_code == 200 and "adverse_event.record" in own.text
    other = TestClient(client.app)
    sign_in(other, "investigator2")  # site S02
    assert other.get(f"/history?participant={ctx['rand']}").status_code == 404
    everything = other.get("/history")
    assert everything.status_code == 200 and "S01-" not in everything.text
    token = other.post("/api/v1/tokens", json={"username": "investigator2", "password": PASSWORD}).json()
    api = other.get("/api/v1/audit", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert api.status_code == 200 and api.json() == []

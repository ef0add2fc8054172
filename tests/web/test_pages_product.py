"""Pharmacy (chain of identity), full unblinding, vital capacity and weight, and "query this field" links."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from webtools import post_form, prepare, sign_in

from alstrial import services as sv
from conftest import PASSWORD, Trial

pytest_plugins = ["webfixtures"]


def test_pharmacist_sees_the_chain_of_identity_with_arms_and_makes_and_releases_a_lot(
    client: TestClient, trial: Trial
) -> None:
    ctx = prepare(trial)
    arm = sv.participant_arm(trial.db, trial["pharmacist"], ctx["rand"])
    sign_in(client, "pharmacist")
    page = client.get("/pharmacy")
    assert page.status_code == 200 and ctx["coi"] in page.text and ctx["lot_released"] in page.text
    assert f'<td class="arm">{arm}</td>' in page.text
    kit = sv.participant_detail(trial.db, trial["pharmacist"], ctx["rand"]).participant.kit_code
    assert kit and kit in page.text
    made = post_form(
        client,
        "/pharmacy",
        "/pharmacy/lots",
        {
            "aspiration_id": str(ctx["bma"]),
            "dose_number": "3",
            "manufactured_on": ctx["day0"].isoformat(),
            "expires_on": (ctx["day0"] + timedelta(days=100)).isoformat(),
        },
    )
    assert made.status_code == 303
    shown = client.get("/pharmacy")
    lot = re.search(r"Lot (LOT-\w+) made for dose 3", shown.text)
    assert lot, shown.text[:500]
    released = post_form(client, "/pharmacy", f"/pharmacy/lots/{lot.group(1)}/release", {})
    assert released.status_code == 303
    statuses = {r["lot_number"]: r["status"] for r in sv.list_product_lots(trial.db, trial["pharmacist"])}
    assert statuses[lot.group(1)] == "released"


def test_a_blinded_role_sees_the_pharmacy_without_arms(client: TestClient, trial: Trial) -> None:
    ctx = prepare(trial)
    sign_in(client, "monitor")
    page = client.get("/pharmacy")
    assert page.status_code == 200 and ctx["coi"] in page.text
    assert 'class="arm"' not in page.text and "<th>Arm</th>" not in page.text
    assert 'action="/pharmacy/lots"' not in page.text


def test_vital_capacity_and_weight_through_the_page_with_query_links(client: TestClient, trial: Trial) -> None:
    ctx = prepare(trial)
    url = f"/participants/{ctx['rand']}/visits/W0/measures"
    sign_in(client, "site_coordinator")
    page = client.get(url)
    assert page.status_code == 200 and 'id="save-vc"' in page.text and 'id="save-weight"' in page.text
    vc = post_form(client, url, f"/participants/{ctx['rand']}/visits/W0/vital-capacity", {"percent_predicted": "82.5"})
    weight = post_form(client, url, f"/participants/{ctx['rand']}/visits/W0/weight", {"weight_kg": "70.4"})
    assert vc.status_code == weight.status_code == 303
    saved = client.get(url).text
    assert "82.5 % predicted" in saved and "70.4 kg" in saved
    rows = {v["visit"]: v for v in sv.visit_data(trial.db, trial["monitor"], ctx["rand"])}
    assert rows["W0"]["vital_capacity_pct"] == 82.5 and rows["W0"]["weight_kg"] == 70.4
    # site staff may correct and see the history; queries are the data manager's
    assert "history</a>" in saved and "correct</a>" in saved and "query</a>" not in saved
    bad = post_form(client, url, f"/participants/{ctx['rand']}/visits/W0/weight", {"weight_kg": "heavy"})
    assert bad.status_code == 422 and "expected a number" in bad.text

    dm = TestClient(client.app)
    sign_in(dm, "data_manager")
    link = re.search(r'class="query-link" href="([^"]+)"', dm.get(url).text)
    assert link, "the data manager gets a 'query' link next to each field"
    form = dm.get(link.group(1).replace("&amp;", "&").split("#")[0]).text
    assert f'name="entity_id" inputmode="numeric" value="{rows["W0"]["vital_capacity_id"]}"' in form
    assert 'name="field" value="percent_predicted"' in form


def test_full_unblinding_through_the_page_after_the_lock(client: TestClient, trial: Trial) -> None:
    prepare(trial)
    sign_in(client, "unblinded_statistician")
    early = post_form(client, "/admin/unblinding", "/admin/unblinding", {"reason": "final", "password": PASSWORD})
    assert early.status_code == 409 and "locked database" in early.text
    sv.lock_database(trial.db, trial["admin"], reason="final lock", password=PASSWORD, override_reason="test trial")
    page = client.get("/admin/unblinding")
    assert "responsibility" in page.text and "Re-enter your password" in page.text
    done = post_form(client, "/admin/unblinding", "/admin/unblinding", {"reason": "final", "password": PASSWORD})
    assert done.status_code == 303
    assert [u.kind for u in sv.list_unblindings(trial.db, trial["monitor"])] == ["full"]

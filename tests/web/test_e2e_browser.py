"""End to end in headless Chromium (Debian's /usr/bin/chromium driven by Playwright), SQLite and PostgreSQL.

A monthly-visit walk-through as site staff would do it: sign in, screen, enrol, record the
screening and run-in visits with their ALSFRS-R (one item left out: its message shows and nothing
is saved; answered: the total shows), randomize and see the kit code, try a dose with a wrong
product identifier and be refused, correct a value with a reason, then a data manager locks the
database and a write is refused. The server is uvicorn on a free loopback port in a thread.

Without the browser the test is skipped locally and FAILS under CI=true (.ci/run installs it).
Set ALSTRIAL_E2E_SHOTS=<dir> to keep screenshots of each step.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from webtools import TEST_SECRET

from alstrial import services as sv
from alstrial.web.app import create_app
from alstrial.web.settings import Settings
from conftest import PASSWORD, SCREEN_DAY, Trial

pytest_plugins = ["webfixtures"]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _require_browser() -> None:
    if not Path(CHROMIUM).exists():
        msg = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{msg}; CI=true requires it", pytrace=False)
        pytest.skip(msg)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(trial: Trial) -> Iterator[str]:
    import uvicorn

    app = create_app(Settings(secret_key=TEST_SECRET, db="unused"), db=trial.db)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@contextmanager
def _browser_page(server: str, width: int, height: int) -> Iterator[Any]:
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(base_url=server, viewport={"width": width, "height": height})
        pg = context.new_page()
        pg.set_default_timeout(15_000)
        yield pg
        context.close()
        browser.close()


@pytest.fixture
def page(server: str) -> Iterator[Any]:
    with _browser_page(server, 1024, 1366) as pg:  # a large tablet in portrait
        yield pg


@pytest.fixture
def tablet(server: str) -> Iterator[Any]:
    with _browser_page(server, 800, 1280) as pg:  # a 10-inch tablet in portrait
        yield pg


class Shots:
    def __init__(self, page: Any, name: str) -> None:
        target = os.environ.get("ALSTRIAL_E2E_SHOTS")
        self.dir = Path(target) / name if target else None
        self.page, self.n = page, 0
        if self.dir:
            self.dir.mkdir(parents=True, exist_ok=True)

    def __call__(self, step: str) -> None:
        if self.dir:
            self.n += 1
            self.page.screenshot(path=str(self.dir / f"{self.n:02d}-{step}.png"), full_page=True)


def sign_in(page: Any, username: str) -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Signed in as")


def sign_out(page: Any) -> None:
    page.click("header button[type=submit]")
    page.wait_for_selector("text=Signed out.")


def answer_alsfrs(page: Any, values: dict[str, int]) -> None:
    for code, value in values.items():
        page.check(f'input[name="{code}"][value="{value}"]')


def test_monthly_visit_in_the_browser(page: Any, trial: Trial, request: pytest.FixtureRequest) -> None:
    shot = Shots(page, request.node.name.replace("[", "-").rstrip("]"))
    sign_in(page, "investigator")
    shot("dashboard")

    # screening with the eligibility checklist
    page.goto("/screening")
    page.fill("#screened_on", SCREEN_DAY.isoformat())
    page.fill("#consent_date", SCREEN_DAY.isoformat())
    for name, value in {"age_years": "52", "months_since_onset": "14", "alsfrs_r_total": "39"}.items():
        page.fill(f"#value_{name}", value)
    page.fill("#value_svc_percent_predicted", "82")
    for name, value in {
        "sex": "F",
        "el_escorial": "definite",
        "onset_region": "limb",
        "riluzole": "yes",
        "prior_stem_cell_therapy": "no",
        "edaravone_within_30_days": "no",
        "experimental_agent_within_30_days": "no",
    }.items():
        page.select_option(f"#value_{name}", value)
    shot("screening")
    page.click("#screen")
    page.wait_for_selector("text=screened: eligible")
    code = page.url.rstrip("/").rsplit("/", 1)[-1]
    assert code.startswith("S01-")

    page.click("#enrol")
    page.wait_for_selector("text=the run-in starts")

    def record_visit(visit: str, on: str) -> None:
        page.select_option("#visit", visit)
        page.fill("#visit_date", on)
        page.click("#record-visit")
        page.wait_for_selector(f"text=Visit {visit} recorded")

    # screening visit and its ALSFRS-R: one item left out first
    record_visit("SCR", SCREEN_DAY.isoformat())
    page.click("#visit-SCR >> text=enter")
    full = {
        "q1": 4,
        "q2": 4,
        "q3": 3,
        "q4": 3,
        "q5a": 3,
        "q6": 3,
        "q7": 3,
        "q8": 3,
        "q9": 3,
        "q10": 4,
        "q11": 4,
        "q12": 4,
    }
    answer_alsfrs(page, {k: v for k, v in full.items() if k != "q8"})
    assert page.inner_text("#live-total") == str(sum(full.values()) - full["q8"])  # live total, before saving
    assert page.inner_text("#live-answered") == "11"
    page.click("#save-alsfrs")
    problem = page.wait_for_selector("#problem-q8")
    assert problem.inner_text() == "item 8 (Walking) is missing"
    assert "nothing was saved" in page.inner_text("[role=alert]")
    shot("alsfrs-item-missing")
    page.check('input[name="q8"][value="3"]')
    assert page.inner_text("#live-total") == str(sum(full.values()))
    page.click("#save-alsfrs")
    page.wait_for_selector(f"text=total {sum(full.values())}/48")
    assert page.inner_text("#saved-total") == str(sum(full.values()))
    shot("alsfrs-saved")

    # correct one answer with a reason
    page.click("tr:has-text('Walking') >> text=correct")
    page.fill("#new_value", "2")
    page.fill("#reason", "transcription error, checked against the source worksheet")
    page.click("#save-correction")
    page.wait_for_selector("text=Corrected q8: 3 → 2")
    assert page.inner_text("#saved-total") == str(sum(full.values()) - 1)
    shot("corrected")

    # end of run-in, randomization shows the kit code
    page.click("text=← timeline")
    record_visit("RUNIN", (SCREEN_DAY + timedelta(days=55)).isoformat())
    page.click("#visit-RUNIN >> text=enter")
    answer_alsfrs(page, {**full, "q3": 2, "q9": 2, "q4": 2, "q6": 2})  # 4 points below screening: run-in met
    page.click("#save-alsfrs")
    page.wait_for_selector("text=ALSFRS-R saved")
    page.click("text=← timeline")
    page.click("#randomize")
    page.wait_for_load_state()
    assert "dispense kit" in page.inner_text("main"), page.inner_text("main")
    kit = page.inner_text("#kit-code")
    assert kit.startswith("K-")
    shot("randomized")

    # a dose with a wrong product identifier is refused
    day0 = SCREEN_DAY + timedelta(days=90)
    bma = sv.record_aspiration(
        trial.db, trial["investigator"], code, aspirated_at=datetime(2025, 3, 10, 9, tzinfo=UTC), volume_ml=60
    )
    lot = sv.manufacture_lot(
        trial.db,
        trial["pharmacist"],
        aspiration_id=bma,
        dose_number=1,
        manufactured_on=day0 - timedelta(days=3),
        expires_on=day0 + timedelta(days=200),
    )
    sv.release_lot(trial.db, trial["pharmacist"], lot.lot_number)
    page.goto(f"/participants/{code}/doses/new")
    page.fill("#lot_number", lot.lot_number)
    page.fill("#label_coi_id", "COI-NOT-THIS-ONE")
    page.fill("#dose_number", "1")
    page.fill("#administered_at", f"{day0.isoformat()}T10:00")
    page.click("#give-dose")
    page.wait_for_selector("text=DOSE REFUSED")
    shot("dose-refused")
    assert sv.list_doses(trial.db, trial["monitor"], participant=code) == []

    # the investigator signs the casebook: the meaning is shown, the password re-entered
    page.goto(f"/participants/{code}/sign-off")
    page.check('input[name="meaning"][value="review"]')
    assert page.inner_text("#meaning-text") == "I have reviewed these data."  # the statement follows the choice
    page.check('input[name="meaning"][value="approval"]')
    page.fill("#password", PASSWORD)
    page.click("#sign")
    page.wait_for_selector("text=Signed the casebook of")
    assert page.inner_text("#status-all .sig-signed") == "signed"
    shot("signed")

    # the admin locks the database (signed: password re-entered; every casebook is signed, so no
    # override is needed); writes are refused
    sign_out(page)
    sign_in(page, "admin")
    page.goto("/admin/lock")
    page.fill("#reason", "database lock for the interim analysis")
    page.fill("#password", PASSWORD)
    page.click("#lock-button")
    page.wait_for_selector("text=every data write is refused")
    assert page.inner_text("#lock-state") == "locked"
    sign_out(page)
    sign_in(page, "investigator")
    page.goto(f"/participants/{code}")
    record_visit_date = day0.isoformat()
    page.select_option("#visit", "BMA")
    page.fill("#visit_date", record_visit_date)
    page.click("#record-visit")
    page.wait_for_selector("text=Database locked")
    assert "locked" in page.inner_text("#error-message")
    shot("locked")


#: every page of the issue's list, as the role that uses it (url built from ``webtools.prepare``'s state)
TABLET_PAGES: list[tuple[str, str]] = [
    ("investigator", "/"),
    ("investigator", "/participants"),
    ("investigator", "/participants/{rand}"),
    ("investigator", "/screening"),
    ("investigator", "/participants/{rand}/visits/W0/alsfrs-r"),
    ("investigator", "/participants/{rand}/visits/W0/measures"),
    ("investigator", "/participants/{rand}/csf"),
    ("investigator", "/participants/{rand}/doses/new"),
    ("investigator", "/participants/{rand}/adverse-events/new"),
    ("investigator", "/participants/{rand}/disposition"),
    ("investigator", "/corrections?entity=adverse_event&entity_id={ae}&field=term&participant={rand}"),
    ("investigator", "/queries?status="),
    ("investigator", "/history?participant={rand}"),
    ("investigator", "/participants/{rand}/sign-off"),
    ("investigator", "/participants/{rand}/emergency-unblinding"),
    ("investigator", "/signatures"),
    ("investigator", "/account"),
    ("pharmacist", "/pharmacy"),
    ("admin", "/admin/lock"),
    ("admin", "/admin/users"),
    ("admin", "/admin/unblinding"),
]


def test_every_page_fits_a_tablet(tablet: Any, trial: Trial, request: pytest.FixtureRequest) -> None:
    """At 800 px wide no page scrolls sideways (wide tables scroll inside themselves) and each renders."""
    from webtools import prepare

    ctx = prepare(trial)
    shot = Shots(tablet, request.node.name.replace("[", "-").rstrip("]"))
    tablet.goto("/login")
    assert tablet.evaluate("document.documentElement.scrollWidth") <= 800
    shot("login")
    who = None
    for role, url in TABLET_PAGES:
        if role != who:
            if who is not None:
                sign_out(tablet)
            sign_in(tablet, role)
            who = role
        response = tablet.goto(url.format(**ctx))
        assert response is not None and response.status == 200, (role, url, response and response.status)
        width = tablet.evaluate("document.documentElement.scrollWidth")
        assert width <= 800, f"{url} is {width} px wide at an 800 px viewport"
        shot(url.strip("/").split("?")[0].replace("/", "_").replace("{", "").replace("}", "") or "dashboard")

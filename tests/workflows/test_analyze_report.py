"""`alstrial analyze` and `alstrial report` on a trial filled through `alstrial import` (not the simulator):
refusals, results.json provenance, the three audiences, the PDF (pdftoppm) and the HTML in Chromium."""

from __future__ import annotations

import csv
import json
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from imported_trial import ENV, ImportedTrial, build_early_trial, build_imported_trial, shared_trials
from typer.testing import CliRunner

from alstrial.cli import app
from alstrial.services.context import CaptureDB
from alstrial.store.audit_chain import verify_chain

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=ENV)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def trials(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> tuple[ImportedTrial, ImportedTrial]:
    """The same imported trial twice: still open (interim) and locked + unblinded (final)."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if worker_id != "master" else base  # shared by the xdist workers of this session
    return shared_trials(root, tmp_path_factory.mktemp("imported"))


@pytest.fixture(scope="module")
def final(trials: tuple[ImportedTrial, ImportedTrial], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("analysis")
    code, output = run("analyze", "--db", trials[1].url, "--user", "stat", "--out", str(out))
    assert code == 0, output
    assert "E_ALSFRS_CHG: difference in mean change" in output
    return out


def test_analyze_refuses_an_unlocked_database_without_interim(trials, tmp_path: Path) -> None:
    open_trial = trials[0]
    code, output = run("analyze", "--db", open_trial.url, "--user", "ustat", "--out", str(tmp_path / "x"))
    assert code == 2 and "the database is not locked" in output and "--interim" in output
    assert "Traceback" not in output and not (tmp_path / "x").exists()
    # an interim look with arms: refused to a blinded role, allowed to the unblinded statistician
    code, output = run("analyze", "--db", open_trial.url, "--user", "stat", "--out", str(tmp_path / "y"), "--interim")
    assert code == 2 and "PermissionDenied" in output and "may not see treatment arms" in output
    code, output = run("analyze", "--db", open_trial.url, "--user", "ustat", "--out", str(tmp_path / "z"), "--interim")
    assert code == 0, output
    results = json.loads((tmp_path / "z" / "results.json").read_text())
    assert results["database"] == {**results["database"], "interim": True, "locked": False, "unblinded": False}


def test_results_json_is_keyed_by_estimand_with_provenance(trials, final: Path) -> None:
    results = json.loads((final / "results.json").read_text())
    capture = CaptureDB.from_url(trials[1].url)
    with capture.sessions() as session:
        chain = verify_chain(session)
    capture.dispose()
    assert results["database"]["audit"] == {"records": chain.records, "verified": True, "head_hash": chain.head_hash}
    assert results["versions"]["alstrial"] and len(results["versions"]["protocol"]["sha256"]) == 64
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d", results["analysis_time"])
    assert set(results["estimands"]) == {
        "E_PRIMARY",
        "E_ALSFRS_CHG",
        "E_CAFS",
        "E_SLOPE",
        "E_SURV",
        "E_CSF",
        "E_SAFETY",
    }
    chg = results["estimands"]["E_ALSFRS_CHG"]
    assert chg["definition"]["population"] == "Full analysis set" and chg["endpoint"] == "ALSFRS_CHG"
    # the imported data have MSC declining ~0.5 points/month slower: 28 weeks ≈ 3.2 points
    assert 1.5 < chg["result"]["difference"] < 5 and chg["result"]["p_value"] < 0.05
    assert set(chg["sensitivity"]) == {
        "mar",
        "jump_to_reference",
        "copy_reference",
        "copy_increments_in_reference",
        "tipping_point",
    }
    tip = chg["sensitivity"]["tipping_point"]
    significant = [row["p_value"] < 0.05 for row in tip["table"]]
    if tip["tipping_delta"] is not None:  # the reported delta is where significance is first lost
        first_lost = next(i for i, s in enumerate(significant) if not s)
        assert tip["table"][first_lost]["delta"] == tip["tipping_delta"] and all(significant[:first_lost])
    else:
        assert all(significant)
    # hypothetical strategy for ventilation: the two visits after it (W24, W28) are set aside
    pav = next(e for e in chg["estimand"]["intercurrent_events"] if e["event"] == "permanent_assisted_ventilation")
    assert pav == {**pav, "strategy": "hypothetical", "participants": 1, "values_set_aside": 2}
    # rescue medication from day 115 (hypothetical here): that participant's W20, W24 and W28 are set aside
    rescue = next(e for e in chg["estimand"]["intercurrent_events"] if e["event"] == "rescue_medication")
    assert rescue == {**rescue, "strategy": "hypothetical", "participants": 1, "values_set_aside": 3}
    primary_rescue = next(
        e for e in results["estimands"]["E_PRIMARY"]["definition"]["intercurrent_events"]
        if e["event"] == "rescue_medication"
    )  # fmt: skip
    assert primary_rescue["strategy"] == "treatment_policy"
    # ... and for the responder estimand ventilation is composite: that participant is a non-responder
    assert results["estimands"]["E_PRIMARY"]["estimand"] == {"composite_failures": 1}
    with (final / "tables" / "estimates.csv").open() as f:
        rows = list(csv.DictReader(f))
    mmrm = next(r for r in rows if r["estimand"] == "E_ALSFRS_CHG" and r["analysis"] == "MMRM")
    assert float(mmrm["estimate"]) == pytest.approx(chg["result"]["difference"])
    assert all(r["p_value"] for r in rows)
    for name in ("subgroups", "subgroup_interactions", "tipping_point", "km", "consort", "baseline", "safety_overview"):
        assert (final / "tables" / f"{name}.csv").stat().st_size > 0


def _pdf_pages(pdf: Path, out: Path) -> list[Path]:
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(out / "page")], check=True, timeout=300)
    return sorted(out.glob("page-*.png"))


def test_sponsor_report_sections_pdf_pages_and_chromium(trials, tmp_path: Path) -> None:
    """One sponsor report (HTML + PDF): its sections, the PDF as PNG pages (pdftoppm) with running
    headers, and the HTML in a real browser (Playwright driving /usr/bin/chromium) with a screenshot."""
    out = tmp_path / "sponsor.html"
    code, output = run("report", "--db", trials[1].url, "--user", "stat", "--out", str(out), "--pdf")
    assert code == 0, output
    html = out.read_text()
    for needle in (
        "Estimands",
        "Subgroups (exploratory)",
        "EXPLORATORY",
        "Number at risk",
        "Individual ALSFRS-R trajectories",
        "ALSFRS-R domain scores over time",
        "Missing-data pattern",
        "Responders by slope-improvement threshold",
        "CSF biomarkers over time",
        "Appendix: data quality",
        "Tipping point",
        "copy increments in reference",
    ):
        assert needle in html, needle
    assert "participant travelling" in html  # the out-of-window visit is listed with its reason
    # the appendix lists the e-signatures: the lock and the unblinding, signed by the admin, still valid
    text_only = re.sub(r"<[^>]+>", " ", html)
    assert re.search(r"Signatures: database lock\s+1 valid", text_only)
    assert re.search(r"Signatures: unblind trial\s+1 valid", text_only)
    assert "Electronic signatures (21 CFR Part 11 manifestations)" in html
    pages = _pdf_pages(out.with_suffix(".pdf"), tmp_path)
    info = subprocess.run(["pdfinfo", str(out.with_suffix(".pdf"))], capture_output=True, text=True, check=True)
    n = int(re.search(r"Pages:\s+(\d+)", info.stdout).group(1))  # type: ignore[union-attr]
    assert len(pages) == n >= 5
    assert all(p.stat().st_size > 2000 for p in pages)
    text = subprocess.run(["pdftotext", str(out.with_suffix(".pdf")), "-"], capture_output=True, text=True, check=True)
    assert f"page 1 of {n}" in text.stdout and f"page {n} of {n}" in text.stdout  # running footer
    assert "MSC-ALS-P3 · Study report" in text.stdout  # running header
    _chromium_check(out, tmp_path)


def _chromium_check(out: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    shot = tmp_path / "report.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(out.resolve().as_uri())
        headings = page.locator("h2").all_inner_texts()
        svgs = page.locator("figure svg").count()
        width = page.evaluate("document.querySelector('figure svg').getBoundingClientRect().width")
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert any("Subgroups (exploratory)" in h for h in headings) and any("Estimands" in h for h in headings)
    assert svgs >= 8 and width > 300
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000


def test_dsmb_reports_and_interim_analysis_at_the_start_of_a_trial(tmp_path: Path) -> None:
    """Randomized but nobody dosed yet: every endpoint says why it is not analysed, nothing crashes."""
    url = build_early_trial(tmp_path)
    for audience in ("dsmb-open", "dsmb-closed"):
        code, output = run("report", "--db", url, "--user", "dsmb", "--out", str(tmp_path / f"{audience}.html"),
                           "--audience", audience)  # fmt: skip
        assert code == 0, output
    assert "No participant in the full analysis set yet" in (tmp_path / "dsmb-closed.html").read_text()
    code, output = run("analyze", "--db", url, "--user", "dsmb", "--out", str(tmp_path / "an"), "--interim")
    assert code == 0, output
    results = json.loads((tmp_path / "an" / "results.json").read_text())
    assert results["consort"]["randomized"] == 4
    assert "error" in results["estimands"]["E_ALSFRS_CHG"]


def test_sponsor_report_is_refused_before_unblinding(trials, tmp_path: Path) -> None:
    code, output = run("report", "--db", trials[0].url, "--user", "stat", "--out", str(tmp_path / "r.html"))
    assert code == 2 and "needs a locked and unblinded database" in output


class _Text(HTMLParser):
    """Visible text after the page header, and each table's header cells."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.headers: list[list[str]] = []
        self._in_header = self._in_th = self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "header":
            self._in_header = True
        elif tag == "style":
            self._in_style = True
        elif tag == "thead":
            self.headers.append([])
        elif tag == "th":
            self._in_th = True
            if self.headers:
                self.headers[-1].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "header":
            self._in_header = False
        elif tag == "style":
            self._in_style = False
        elif tag == "th":
            self._in_th = False

    def handle_data(self, data: str) -> None:
        if self._in_header or self._in_style:
            return
        self.text.append(data)
        if self._in_th and self.headers:
            self.headers[-1][-1] += data.strip()


def test_open_dsmb_report_has_no_arm_level_numbers(trials, tmp_path: Path) -> None:
    out = tmp_path / "open.html"
    code, output = run("report", "--db", trials[0].url, "--user", "dsmb", "--out", str(out), "--audience", "dsmb-open")
    assert code == 0, output
    parser = _Text()
    parser.feed(out.read_text())
    body = " ".join(parser.text).replace("MSC-ALS-P3", "")
    for word in ("MSC", "PBO", "Placebo", "placebo", "Autologous", "Arm A", "Arm B"):
        assert word not in body, word
    assert "All participants" in body and "Safety (pooled)" in body
    # every table has at most one data column, and it is the pooled one
    for header in parser.headers:
        data_columns = [h for h in header[1:] if h]
        assert len(data_columns) <= 1 or header[0] in ("item", "participant", "analysis"), header
        assert all("All participants" in h for h in data_columns) or header[0] in ("item", "participant"), header
    # the per-arm randomized counts appear nowhere as arm counts: only the pooled total is shown
    n_total = len(trials[0].codes)
    assert f"Randomized {n_total}" in body.replace("\n", " ").replace("  ", " ")
    assert "randomized 18" not in body.replace("\n", " ")


def test_closed_dsmb_report_codes_the_arms_and_keeps_the_key_apart(trials, tmp_path: Path) -> None:
    out = tmp_path / "closed.html"
    code, output = run(
        "report", "--db", trials[0].url, "--user", "stat", "--out", str(out), "--audience", "dsmb-closed"
    )
    assert code == 2 and "may not produce the dsmb-closed report" in output
    code, output = run(
        "report", "--db", trials[0].url, "--user", "dsmb", "--out", str(out), "--audience", "dsmb-closed"
    )
    assert code == 0, output
    key = json.loads(out.with_name("closed.key.json").read_text())
    assert sorted(key) == ["A", "B"] and sorted(key.values()) == ["MSC", "PBO"]
    parser = _Text()
    parser.feed(out.read_text())
    body = " ".join(parser.text).replace("MSC-ALS-P3", "")
    assert "Arm A" in body and "Arm B" in body and "CONFIDENTIAL" in body
    for word in ("MSC", "PBO", "Placebo", "Autologous"):
        assert word not in body, word


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_analyze_and_report_on_postgresql(db_url: str, tmp_path: Path) -> None:
    """The same command-line path on PostgreSQL: import, randomize, queries, lock, unblind, analyze, report."""
    trial = build_imported_trial(tmp_path, seed=5, url=db_url)
    code, output = run("analyze", "--db", trial.url, "--user", "stat", "--out", str(tmp_path / "out"))
    assert code == 0, output
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["database"]["locked"] and results["database"]["unblinded"]
    assert "result" in results["estimands"]["E_ALSFRS_CHG"], results["estimands"]["E_ALSFRS_CHG"]
    chg = results["estimands"]["E_ALSFRS_CHG"]["result"]
    assert np.isfinite(chg["difference"]) and 0 < chg["p_value"] < 1
    code, output = run("report", "--db", trial.url, "--user", "dsmb", "--audience", "dsmb-closed",
                       "--out", str(tmp_path / "closed.html"))  # fmt: skip
    assert code == 0, output
    parser = _Text()
    parser.feed((tmp_path / "closed.html").read_text())
    body = " ".join(parser.text).replace("MSC-ALS-P3", "")
    assert "Arm A" in body and "Arm B" in body and "MSC" not in body and "PBO" not in body

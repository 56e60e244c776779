"""The run report in a real browser: headless Chromium renders the shipped customers and
Adult k=5 runs (and an encrypting, detecting one) with JavaScript off, and the page is checked
against the manifest: sections, one <svg> per plot, the numbers, and no network request.

With ANONYMIZER_REPORT_SHOTS=DIR (``make report-screenshots``) each section's screenshot is
written there (the pictures in docs/report.md).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import polars as pl
import pytest

from anonymizer_ml.lineage.manifest import MANIFEST_NAME, RunManifest, read_manifest
from anonymizer_ml.report.figures import Report
from anonymizer_ml.report.html import plots_of
from anonymizer_ml.report.schema import generated_schema, shipped_schema
from tests.conftest import CUSTOMERS_POLICY, FIXTURE, ROOT, run_cli

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SECTIONS = [
    "Verification",
    "Run",
    "Columns and actions",
    "Entities found",
    "k-anonymity and re-identification risk",
    "Encryption",
    "Differential privacy",
    "Canary audit",
    "Utility for training",
]
# Which run's page shows each section in docs/report.md (the one where it has the most to show).
SHOTS = {
    "customers": ["status", "run", "plan"],
    "adult": ["privacy", "dp", "utility"],
    "notes": ["detection", "encryption", "canaries"],
}
NOTES_ROWS = 1000
NOTES_POLICY = """\
name: customers-notes
version: "1"
dataset: customers
unlisted_columns: drop
columns:
  customer_id: {action: hash_token, prefix: "cus_"}
  email: {action: encrypt, row_key: customer_id}
  phone: {action: encrypt, deterministic: true}
  state: keep
  zip: {action: generalize, keep_prefix: 3}
  birth_date: {action: generalize, date_part: year}
  segment: keep
  support_notes: {action: detect}
"""


@dataclass(frozen=True)
class Release:
    """One run: its output directory, manifest, trust file and rendered page."""

    out: Path
    manifest: RunManifest
    trust: Path
    html: Path


def _run(tmp: Path, name: str, policy: Path, data: Path, *extra: str) -> Release:
    keyset, trust = tmp / f"{name}-keys.json", tmp / f"{name}-trust.yaml"
    assert run_cli(["keys", "init", str(keyset)]).returncode == 0
    exported = run_cli(["keys", "export-public", "-k", str(keyset)])
    trust.write_text(exported.stdout)
    out, html = tmp / name, tmp / f"{name}.html"
    args = ["run", "-q", "-p", str(policy), "-k", str(keyset), str(data), str(out)]
    done = run_cli([*args, "--report", str(html), *extra])
    assert done.returncode == 0, done.stderr
    assert f"report:    {html}" in done.stdout
    return Release(out, read_manifest(out / MANIFEST_NAME), trust, html)


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Release]:
    tmp = tmp_path_factory.mktemp("report")
    adult = tmp / "adult.parquet"
    pl.read_csv(ROOT / "fixtures" / "adult" / "adult.csv", separator=";").write_parquet(adult)
    notes = tmp / "notes.yaml"
    notes.write_text(NOTES_POLICY)
    notes_data = tmp / "customers-1000.parquet"  # NER over every note: a thousand are enough
    pl.read_parquet(FIXTURE).head(NOTES_ROWS).write_parquet(notes_data)
    return {
        "customers": _run(tmp, "customers", CUSTOMERS_POLICY, FIXTURE),
        "adult": _run(
            tmp, "adult", ROOT / "rules" / "adult-k5.yaml", adult, "--target", "salary-class"
        ),
        "notes": _run(tmp, "notes", notes, notes_data),
    }


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).is_file():
        pytest.fail("Chromium is missing: install the Debian package chromium (make browser)")
    from playwright.sync_api import sync_playwright

    flags = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=flags)
        yield chromium
        chromium.close()


@dataclass
class Page:
    """A rendered report and every request the browser made while rendering it."""

    page: Any
    requests: list[str]

    def figure(self, name: str) -> int:
        text = self.page.locator(f'[data-figure="{name}"]').inner_text()
        return int(text.replace(",", ""))


def render(browser: Any, html: Path) -> Page:
    viewport = {"width": 1100, "height": 900}
    context = browser.new_context(java_script_enabled=False, viewport=viewport)
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(html.as_uri(), wait_until="load")
    return Page(page, requests)


def _json_report(release: Release, *extra: str) -> Report:
    done = run_cli(["report", str(release.out), "--json", *extra])
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    jsonschema.validate(document, shipped_schema())
    return Report.model_validate(document)


def _shoot(rendered: Page, name: str, sections: list[str]) -> None:
    folder = os.environ.get("ANONYMIZER_REPORT_SHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for section in sections:
        target = Path(folder) / f"{name}-{section}.png"
        locator = rendered.page.locator("#status" if section == "status" else f"#{section}")
        locator.screenshot(path=str(target))


@pytest.mark.parametrize("name", ["customers", "adult", "notes"])
def test_the_report_renders_offline_with_the_manifests_figures(
    browser: Any, releases: dict[str, Release], name: str, tmp_path: Path
) -> None:
    release = releases[name]
    rendered = render(browser, release.html)
    page, manifest = rendered.page, release.manifest
    assert rendered.requests == [release.html.as_uri()]  # nothing but the file itself
    assert page.locator("h2").all_inner_texts() == SECTIONS
    assert page.locator("#status").inner_text().startswith("Verified: signed by sign-")
    report = _json_report(release, "--trust", str(release.trust))
    assert page.locator("svg").count() >= len(plots_of(report)) >= 1
    assert rendered.figure("rows_in") == sum(r.rows for r in manifest.inputs)
    assert rendered.figure("rows_out") == sum(r.rows for r in manifest.outputs)
    actions = {str(s["column"]): str(s["action"]) for s in manifest.plan}
    for column, action in actions.items():
        shown = page.locator(f'[data-action="{column}"]').inner_text()
        assert shown.split(" ")[0] == action
    shot = tmp_path / "page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    html = release.html.read_text()
    assert "<script" not in html and "<metadata>" not in html
    assert not re.search(r"""(src|href|url)\s*[=(]\s*["']?\s*(https?:|//)""", html)
    _shoot(rendered, name, SHOTS[name])
    page.context.close()


def test_privacy_figures_equal_the_manifest_and_the_release(
    browser: Any, releases: dict[str, Release]
) -> None:
    release = releases["adult"]
    record = release.manifest.privacy
    assert record is not None
    rendered = render(browser, release.html)
    assert rendered.figure("k_achieved") == record["k_achieved"] == 5
    assert rendered.figure("records_suppressed") == record["records_suppressed"] == 906
    assert rendered.figure("classes") == record["classes"]
    released = pl.scan_parquet(release.out / "adult.parquet")
    classes = released.group_by(record["quasi_identifiers"]).len().collect()
    assert rendered.figure("risk.classes") == classes.height == record["classes"]
    assert rendered.figure("risk.k_achieved") == classes["len"].min()
    rendered.page.context.close()


def test_utility_is_measured_and_signed_in_the_manifest(releases: dict[str, Release]) -> None:
    manifest = releases["adult"].manifest
    assert manifest.report is not None
    figures = manifest.report["utility"]
    assert [m["model"] for m in figures["models"]] == ["logistic_regression", "gradient_boosting"]
    majority = 0.751  # share of the larger salary class in Adult
    for model in figures["models"]:
        for side in ("raw", "anonymised"):
            assert model[side]["accuracy"] > majority + 0.03  # the models learnt something
            assert 0.8 < model[side]["auc"] <= 1.0
    verified = run_cli(
        ["verify", str(releases["adult"].out), "--trust", str(releases["adult"].trust)]
    )
    assert verified.returncode == 0, verified.stderr


def test_detection_and_encryption_counters_equal_the_manifest(
    browser: Any, releases: dict[str, Release]
) -> None:
    release = releases["notes"]
    rendered = render(browser, release.html)
    (detected,) = release.manifest.detections
    assert detected["texts"] == NOTES_ROWS and sum(detected["entities"].values()) > NOTES_ROWS // 5
    for entity, count in detected["entities"].items():
        key = f"entity:{detected['file']}:{detected['column']}:{entity}"
        assert rendered.figure(key) == count
    assert {e["column"] for e in release.manifest.encryption} == {"email", "phone"}
    for entry in release.manifest.encryption:
        assert (
            rendered.figure(f"encrypted:{entry['file']}:{entry['column']}")
            == entry["encrypted"]
            == NOTES_ROWS
        )
    html = release.html.read_text()
    keyset = json.loads((release.trust.parent / "notes-keys.json").read_text())
    for key in keyset["keys"]:  # ids shown, never the material
        assert key["id"] in html or key["purpose"] != "encrypt"
        assert key["material"] not in html
    rendered.page.context.close()


def test_a_tampered_release_says_so_first_and_still_renders(
    browser: Any, releases: dict[str, Release], tmp_path: Path
) -> None:
    source = releases["customers"]
    out = tmp_path / "tampered"
    shutil.copytree(source.out, out)
    data = out / "customers.parquet"
    content = bytearray(data.read_bytes())
    content[len(content) // 2] ^= 0xFF
    data.write_bytes(bytes(content))
    html = tmp_path / "tampered.html"
    done = run_cli(["report", str(out), "--trust", str(source.trust), "--html", str(html)])
    assert done.returncode == 0, done.stderr
    assert "verification FAILED" in done.stderr
    rendered = render(browser, html)
    body = rendered.page.locator("body").inner_text()
    assert body.splitlines()[0].startswith("Verification FAILED")
    assert rendered.page.locator("h2").all_inner_texts() == SECTIONS
    assert rendered.requests == [html.as_uri()]
    _shoot(rendered, "tampered", ["status", "verification"])
    rendered.page.context.close()


def test_without_a_trust_file_the_report_says_the_signature_was_not_checked(
    releases: dict[str, Release],
) -> None:
    report = _json_report(releases["customers"])
    assert report.verification.status == "not verified"
    assert report.verification.headline.startswith("Not verified")
    assert all(c.passed for c in report.verification.checks[1:])  # the hashes still are


def test_the_shipped_report_schema_matches_the_model() -> None:
    assert shipped_schema() == generated_schema()


def test_bad_input_gets_one_line(tmp_path: Path, releases: dict[str, Release]) -> None:
    missing = run_cli(["report", str(tmp_path / "nowhere")])
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'nowhere' / MANIFEST_NAME}: manifest not found; run anonymizer on "
        "the data first"
    ]
    target = run_cli(["report", str(releases["customers"].out), "--json", "--target", "email"])
    assert target.returncode == 1 and "Traceback" not in target.stderr
    assert len(target.stderr.strip().splitlines()) == 1


def test_a_report_inside_the_release_is_refused(releases: dict[str, Release]) -> None:
    out = releases["customers"].out
    inside = run_cli(["report", str(out), "--html", str(out / "report.html")])
    assert inside.returncode == 1 and not (out / "report.html").exists()
    assert inside.stderr.startswith(f"error: {out / 'report.html'}: inside the release")

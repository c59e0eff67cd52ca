"""End to end through a real OpenID Connect provider on localhost (oidc-provider-mock) in headless
Chromium: a clinician and a director sign in with `st.login` and see what each may, and may not.

Starts the mock provider in a thread, `waypoint serve` with a `.streamlit/secrets.toml` pointing at
it and a clinic config listing the users, then drives Debian's chromium with Playwright.
Screenshots go to test-artifacts/e2e-oidc/.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.builders import two_clinicians
from tests.test_e2e_browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, _free_port, _settled, serving

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "e2e-oidc"

pytestmark = [
    pytest.mark.browser,
    # In CI (CI=true) a missing browser fails the run instead of skipping it.
    pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                       reason="/usr/bin/chromium is absent (`make chromium` installs it)"),
]

CONFIG = """
[access.users]
"anna@clinic.example" = { role = "clinician", clinician_id = "c1" }
"dir@clinic.example"  = { role = "director" }
"it@clinic.example"   = { role = "admin" }
"""


@pytest.fixture(scope="module")
def provider():
    import oidc_provider_mock as mock
    import authlib  # noqa: F401  (st.login needs it)
    with mock.run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def app(tmp_path_factory, provider):
    folder = tmp_path_factory.mktemp("oidc")
    db = folder / "clinic.duckdb"
    two_clinicians(db)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    (folder / ".streamlit").mkdir()
    (folder / ".streamlit" / "secrets.toml").write_text(
        f'[auth]\nredirect_uri = "{url}/oauth2callback"\ncookie_secret = "e2e-cookie-secret-0123456789"\n'
        f'client_id = "waypoint"\nclient_secret = "waypoint-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n')
    (folder / "clinic.toml").write_text(CONFIG)
    env = dict(os.environ, WAYPOINT_CONFIG=str(folder / "clinic.toml"), HOME=str(folder))
    with serving(db, cwd=folder, env=env, log=folder / "serve.log", port=port) as served:
        yield served


@pytest.fixture(scope="module")
def browser():
    from playwright import sync_api
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _through_provider(browser, app: str, who: str):
    """A fresh browser context that clicks "Sign in" and authorises ``who`` at the provider."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(app)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("input[name='sub']")          # the provider's own sign-in form
    page.fill("input[name='sub']", who)
    page.get_by_role("button", name="Authorize").click()
    return context, page


def _sign_in(browser, app: str, who: str):
    context, page = _through_provider(browser, app, who)
    page.wait_for_url(f"{app}/**")
    page.get_by_text(f"Signed in as {who}").wait_for()
    _settled(page)
    return context, page


DOWNLOAD = "button:has-text('Download CSV')"


def _open(page, app: str, path: str, ready: str) -> str:
    """The page's text once ``ready`` (a Playwright selector for what the page shows when it has
    run) is on it. Tables are drawn on a canvas: read them with :func:`_download`.

    A fixed pause is not enough: on a loaded CI machine the script may not have started when the
    pause ends, and the page then holds only its title."""
    page.goto(f"{app}/{path}")
    page.wait_for_selector("[data-testid='stMainBlockContainer']")
    page.wait_for_selector(ready)
    _settled(page)
    return page.inner_text("[data-testid='stMain']")


def _download(page) -> str:
    """The CSV the page's first "Download CSV" button gives (the table's rows, as a user gets them)."""
    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").first.click()
    return Path(info.value.path()).read_text(encoding="utf-8-sig")


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_clinician_signs_in_and_sees_only_their_own_patients(browser, app):
    context, page = _sign_in(browser, app, "anna@clinic.example")
    try:
        assert "clinician c1" in page.inner_text("[data-testid='stSidebar']")
        caseload = _open(page, app, "", DOWNLOAD)            # a clinician starts on their caseload
        _shot(page, "clinician-caseload")
        rows = _download(page)
        assert "p1," in rows and "secret-p2" not in rows and "secret-p2" not in caseload
        other = _open(page, app, "patient?patient=secret-p2",
                      "text=No sessions for patient")    # a hand-edited URL
        _shot(page, "clinician-other-patient")
        assert "No sessions for patient" in other
        nav = page.inner_text("[data-testid='stSidebarNav']")
        assert "Clinicians" not in nav and "Audit log" not in nav and "Data" not in nav
    finally:
        context.close()
    # the admin reads what the clinician did in the audit log
    context, page = _sign_in(browser, app, "it@clinic.example")
    try:
        _open(page, app, "audit", DOWNLOAD)
        _shot(page, "admin-audit-log")
        log = _download(page)
        assert "anna@clinic.example,clinician,view_patient,secret-p2" in log
        assert "anna@clinic.example,clinician,export,,,caseload all clinicians" in log
    finally:
        context.close()


def test_a_director_signs_in_and_sees_the_whole_clinic_but_not_the_admin_pages(browser, app):
    context, page = _sign_in(browser, app, "dir@clinic.example")
    try:
        caseload = _open(page, app, "caseload", DOWNLOAD)
        _shot(page, "director-caseload")
        rows = _download(page)
        assert "p1," in rows and "secret-p2," in rows
        nav = page.inner_text("[data-testid='stSidebarNav']")
        assert "Clinicians" in nav and "Audit log" not in nav
    finally:
        context.close()


def test_someone_not_on_the_list_gets_a_polite_refusal(browser, app):
    context, page = _sign_in_refused(browser, app, "mallory@elsewhere.example")
    try:
        text = page.inner_text("[data-testid='stMain']")
        _shot(page, "refused")
        assert "not on the clinic's list of Waypoint users" in text and "p1" not in text
    finally:
        context.close()


def _sign_in_refused(browser, app: str, who: str):
    context, page = _through_provider(browser, app, who)
    page.get_by_text("not on the clinic's list").wait_for()
    return context, page

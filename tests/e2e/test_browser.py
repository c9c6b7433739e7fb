"""The web UI in a real browser (Debian's Chromium via Playwright) against the real running
system started by `stationhouse up`: sign-in with the second factor, an incident created with a
location picked on the map, found again by a misspelt name and on the map, and a citizen who
files a complaint and then sees it. Screenshots of the main pages are taken on the way
(`make screenshots` keeps them in docs/screenshots/)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pyotp
import pytest

from servicekit.testing import DatabaseFactory, free_port

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
# `make screenshots` sets this to docs/screenshots; otherwise they go to a scratch folder so a
# test run leaves the working tree clean.
SCREENSHOTS = Path(
    os.environ.get("STATIONHOUSE_SCREENSHOTS_DIR")
    or Path(os.environ.get("TMPDIR", "/tmp")) / "stationhouse-screenshots"
)
CHROMIUM = os.environ.get("STATIONHOUSE_CHROMIUM", "/usr/bin/chromium")
ADMIN_PASSWORD = "correct horse battery staple 42"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class System:
    url: str
    env: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)


def _build_ui() -> None:
    sys.path.insert(0, str(REPO / "web"))
    try:
        import build  # web/build.py: npm ci && npm run build when web/dist is stale

        build.build()
    finally:
        sys.path.remove(str(REPO / "web"))


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, database_factory: DatabaseFactory
) -> Iterator[System]:
    """All five processes via `stationhouse up`, with a known first admin."""
    _build_ui()
    data = tmp_path_factory.mktemp("browser-system")
    env = {
        **os.environ,
        "STATIONHOUSE_DATA_DIR": str(data / "data"),
        # No internet here: no map tiles; points and shapes still draw.
        "GATEWAY_TILE_URL": "",
        # One browser signs several people in from one address within a minute.
        "GATEWAY_RATE_LIMIT_CREDENTIALS": "60",
    }
    for prefix in ("AUTH_", "RECORDS_", "PREDICTION_", "HOTSPOTS_", "GATEWAY_"):
        env[f"{prefix}PORT"] = str(free_port())
    if database_factory.server_url is not None:
        for name in ("auth", "records", "prediction", "hotspots"):
            env[f"{name.upper()}_DATABASE_URL"] = database_factory.create(f"ui_{name}")
    cli = [sys.executable, "-m", "stationhouse"]
    subprocess.run(
        [*cli, "create-admin", "--password", ADMIN_PASSWORD],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    # A small synthetic city, so the statistics and maps have something to show.
    subprocess.run(
        [*cli, "seed-demo", "--generator", "--count", "3000", "--no-users"],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    log = (data / "up.log").open("wb")
    proc = subprocess.Popen(
        [*cli, "up", "--no-seed", "--ready-timeout", "180"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{env['GATEWAY_PORT']}"
    try:
        deadline = time.monotonic() + 200
        while True:
            if proc.poll() is not None:
                raise RuntimeError((data / "up.log").read_text()[-3000:])
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError((data / "up.log").read_text()[-3000:])
            time.sleep(0.3)
        yield System(url=url, env=env)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _staff_token(url: str, username: str, password: str) -> str:
    """Sign in over the API, enrolling the second factor on the first sign-in."""
    form = {"grant_type": "password", "username": username, "password": password}
    first = httpx.post(url + "/api/v1/auth/token", data=form, timeout=30)
    if first.status_code == 200:
        return first.json()["access_token"]
    assert first.status_code == 403, first.text
    ticket = first.json()["enrolment_token"]
    secret = httpx.post(
        url + "/api/v1/auth/totp/enrolment", json={"enrolment_token": ticket}, timeout=30
    ).json()["secret"]
    confirmed = httpx.post(
        url + "/api/v1/auth/totp/enrolment/confirm",
        json={"enrolment_token": ticket, "code": pyotp.TOTP(secret).now()},
        timeout=30,
    )
    assert confirmed.status_code == 200, confirmed.text
    return confirmed.json()["access_token"]


def _create_user(system: System, *, username: str, roles: list[str], password: str) -> None:
    if "admin" not in system.tokens:
        system.tokens["admin"] = _staff_token(system.url, "admin", ADMIN_PASSWORD)
    response = httpx.post(
        system.url + "/api/v1/auth/users",
        json={
            "username": username,
            "password": password,
            "roles": roles,
            "station_id": "ST-1",
            "display_name": username.replace(".", " ").title(),
        },
        headers={"Authorization": f"Bearer {system.tokens['admin']}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium"
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, system: System):
    context = browser.new_context(base_url=system.url, viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def _shot(page, name: str, *, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def _sign_in_enrolling(page, username: str, password: str, shot: str | None = None) -> None:
    """Sign in through the UI; the first sign-in of staff enrols the authenticator."""
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    if shot:
        _shot(page, shot)
    page.click("button[type=submit]")
    secret = page.get_by_test_id("totp-secret").inner_text(timeout=20_000).strip()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret)
    if shot:
        _shot(page, shot + "-enrol")
    page.fill("input[name=totp]", pyotp.TOTP(secret).now())
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/(incidents|statistics|complaints)$"))


def test_officer_files_incident_on_the_map_and_finds_it_by_misspelt_name(
    page, system: System
) -> None:
    officer = f"officer.{uuid.uuid4().hex[:6]}"
    password = "blue lamp on the corner 7"
    _create_user(system, username=officer, roles=["officer"], password=password)
    _sign_in_enrolling(page, officer, password, shot="01-sign-in")

    page.click("text=New incident")
    page.wait_for_url("**/incidents/new")
    page.select_option("select[name=category]", "burglary")
    page.fill("input[name=occurred_from]", "2026-11-20T21:30")
    page.fill("input[name=address]", "12 Harbour Street")
    page.fill("input[name=area]", "Waterfront")
    # Pick the location by clicking the map.
    box = page.get_by_test_id("map").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.4)
    page.wait_for_function("document.querySelector('input[name=lat]').value !== ''")
    lat = float(page.input_value("input[name=lat]"))
    lon = float(page.input_value("input[name=lon]"))
    assert 43.0 < lat < 44.5
    assert -80.5 < lon < -78.5
    page.fill("textarea[name=narrative]", "Rear window forced; laptop and jewellery taken.")
    _shot(page, "02-incident-form")
    page.click("button:has-text('File incident')")
    page.wait_for_url(re.compile(r".*/incidents/[0-9a-f-]{36}$"))
    heading = page.locator("h1").inner_text()
    crime_id = re.search(r"CR-\d{4}-\d+", heading).group(0)  # type: ignore[union-attr]

    # Edit it (PATCH with the ETag the page read).
    page.click("a:has-text('Edit')")
    page.wait_for_url("**/edit")
    page.fill("input[name=address]", "14 Harbour Street")
    page.click("button:has-text('Save changes')")
    page.locator("dd", has_text="14 Harbour Street").wait_for()

    # Link a victim; the person is then findable by a misspelt name.
    page.fill("input[name=given_name]", "Katarzyna")
    page.fill("input[name=family_name]", "Wojciechowska")
    page.select_option("select[name=role]", "victim")
    page.click("button:has-text('Add person')")
    page.wait_for_selector("li:has-text('Katarzyna Wojciechowska')")
    _shot(page, "03-incident-detail")

    page.goto("/persons")
    page.fill("input[name=name]", "Katarzina Wojciehowska")
    page.click("button:has-text('Search')")
    card = page.locator(".person-card", has_text="Katarzyna Wojciechowska")
    card.wait_for()
    card.locator("button:has-text('Show incidents')").click()
    paths = httpx.get(system.url + "/openapi.json", timeout=30).json()["paths"]
    if "/api/v1/records/persons/{person_id}/incidents" in paths:
        # From the person found by a misspelt name straight to the incident.
        card.locator(f"a:has-text('{crime_id}')").click()
        page.locator("h1", has_text=crime_id).wait_for()
        page.go_back()
    else:
        card.locator(".notice", has_text="cannot list a person's incidents").wait_for()
    _shot(page, "04-person-search")

    # Found by its crime ID, and drawn on the map.
    page.goto("/incidents")
    page.fill("input[name=crime_id]", crime_id.lower())
    page.click("button:has-text('Search')")
    page.locator(f"td a:has-text('{crime_id}')").wait_for()
    page.click("button:has-text('Map')")
    marker = page.locator("path.incident-marker")
    marker.first.wait_for()
    assert marker.count() == 1
    marker.first.click()
    page.locator(".leaflet-popup", has_text=crime_id).wait_for()
    _shot(page, "05-incidents-map")


def test_citizen_files_a_complaint_with_an_attachment_and_follows_it(
    page, system: System, tmp_path
) -> None:
    email = f"citizen.{uuid.uuid4().hex[:6]}@example.org"
    page.goto("/register")
    page.fill("input[name=email]", email)
    page.fill("input[name=display_name]", "Sam Citizen")
    page.fill("input[name=password]", "my bicycle was red and fast")
    _shot(page, "06-citizen-register")
    page.click("button[type=submit]")
    page.wait_for_url("**/complaints/new")
    photo = tmp_path / "photo.png"
    # A real (1x1) PNG, so content-type detection accepts it.
    photo.write_bytes(
        bytes.fromhex(
            "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
            "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
        )
    )
    page.fill(
        "textarea[name=description]", "My bicycle was stolen from the rack outside the library."
    )
    page.select_option("select[name=category_hint]", "theft")
    page.fill("input[name=occurred_from]", "2026-11-27T14:00")
    page.fill("input[name=location_text]", "Central Library, Queen Street")
    page.set_input_files("input[name=attachments]", str(photo))
    _shot(page, "07-citizen-complaint-form")
    page.click("button:has-text('Send report')")
    page.wait_for_url("**/complaints")
    notice = page.locator(".notice", has_text="has been filed").inner_text()
    reference = re.search(r"report (\S+) has been filed", notice).group(1)  # type: ignore[union-attr]
    card = page.locator(".link-card", has_text=reference)
    card.wait_for()
    _shot(page, "08-citizen-complaints")
    card.click()
    page.locator("h1", has_text=reference).wait_for()
    page.locator("dd", has_text="photo.png").wait_for()


def _train_and_promote_weekly_forecast(url: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        assert client.post("/api/v1/prediction/sync").status_code == 200
        job = client.post(
            "/api/v1/prediction/jobs",
            json={"kind": "forecast_week", "algorithms": ["linear_regression"], "horizon": 4},
        )
        assert job.status_code == 202, job.text
        deadline = time.monotonic() + 120
        while (state := client.get(f"/api/v1/prediction/jobs/{job.json()['id']}").json())[
            "status"
        ] in ("queued", "running"):
            assert time.monotonic() < deadline, state
            time.sleep(0.5)
        assert state["status"] == "succeeded", state
        (version_id,) = state["result"]["model_version_ids"]
        promoted = client.post(f"/api/v1/prediction/models/{version_id}/promote")
        assert promoted.status_code == 200, promoted.text


def test_main_pages_render_for_each_role_and_on_a_phone(browser, system: System) -> None:
    analyst = f"analyst.{uuid.uuid4().hex[:6]}"
    admin_page_user = f"admin.{uuid.uuid4().hex[:6]}"
    password = "numbers tell the story 9"
    _create_user(system, username=analyst, roles=["analyst"], password=password)
    _create_user(system, username=admin_page_user, roles=["admin"], password=password)

    context = browser.new_context(base_url=system.url, viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(20_000)
    _sign_in_enrolling(page, analyst, password)
    page.goto("/statistics")
    page.get_by_test_id("total").wait_for()
    page.locator("canvas").first.wait_for()
    _shot(page, "09-statistics")

    # Hotspots: bring hotspots' copy of the incidents up to date, then draw Gi* cells.
    synced = page.evaluate(
        "fetch('/api/v1/hotspots/sync', {method: 'POST', headers: "
        "{Authorization: 'Bearer ' + sessionStorage.getItem('sh.access')}}).then(r => r.status)"
    )
    assert synced == 200
    page.goto("/hotspots")
    page.select_option("select >> nth=1", "3650")
    page.locator("path.leaflet-interactive").first.wait_for(timeout=90_000)
    _shot(page, "16-hotspots")

    # Forecasts: train a weekly model on prediction's copy, promote it, and the page shows the
    # forecast with how far off its evaluation found it, beside the moving average's miss.
    # Before any model is promoted the page says so, and where to get one.
    page.goto("/forecasts")
    page.get_by_text("No weekly forecast model is in service yet").wait_for()
    assert page.get_by_role("link", name="Train or promote one on the Models page.").is_visible()
    _train_and_promote_weekly_forecast(
        system.url, page.evaluate("sessionStorage.getItem('sh.access')")
    )
    page.goto("/forecasts")
    record = page.get_by_test_id("forecast-track-record")
    record.wait_for(timeout=60_000)
    text = record.inner_text()
    assert "missed the recorded count by" in text
    assert "the average of the previous 13 weeks missed by" in text
    assert "fell inside its interval" in text
    page.locator("canvas").first.wait_for()
    _shot(page, "17-forecasts")
    # By area: the list is the model's own areas, and the track record is the area model's.
    page.select_option("select >> nth=0", "area")
    page.wait_for_function(
        "document.querySelector('[data-testid=forecast-series]').options.length > 1"
        " && !document.querySelector('[data-testid=forecast-series]').value.includes('_')"
    )
    areas = page.get_by_test_id("forecast-series").locator("option").all_inner_texts()
    assert "Theft" not in areas
    page.select_option("[data-testid=forecast-series]", areas[-1])
    record.wait_for()
    page.locator("canvas").first.wait_for()
    _shot(page, "18-forecasts-by-area")
    context.close()

    context = browser.new_context(base_url=system.url, viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(20_000)
    _sign_in_enrolling(page, admin_page_user, password)
    page.goto("/admin/users")
    page.locator("td", has_text=analyst).wait_for()
    _shot(page, "10-admin-users")
    page.goto("/admin/audit")
    page.click("div.card:has-text('auth') button:has-text('Verify chain')")
    page.locator(".notice", has_text="Intact").wait_for()
    _shot(page, "11-admin-audit")
    # An officer's report waits in the review queue; it is approved there, then sealed.
    reporter = f"officer.{uuid.uuid4().hex[:6]}"
    _create_user(system, username=reporter, roles=["officer"], password=password)
    officer = {"Authorization": f"Bearer {_staff_token(system.url, reporter, password)}"}
    created = httpx.post(
        system.url + "/api/v1/records/incidents",
        json={
            "category": "robbery",
            "occurred_from": "2026-11-28T18:00:00Z",
            "narrative": "Phone snatched at the bus stop.",
        },
        headers=officer,
        timeout=30,
    )
    assert created.status_code == 201, created.text
    submitted = httpx.post(
        system.url + f"/api/v1/records/incidents/{created.json()['id']}/review",
        json={"action": "submit"},
        headers={**officer, "If-Match": created.headers["etag"]},
        timeout=30,
    )
    assert submitted.status_code == 200, submitted.text
    crime_id = created.json()["crime_id"]
    page.goto("/review")
    card = page.locator(".card", has_text=crime_id)
    card.wait_for()
    _shot(page, "12-review-queue")
    card.locator("input").fill("Checked against the CCTV log.")
    card.locator("button:has-text('Approve')").click()
    page.locator(".notice", has_text=f"{crime_id} approved").wait_for()
    page.goto(f"/incidents/{created.json()['id']}")
    page.locator(".badge", has_text="Approved").wait_for()
    page.fill("input[name=seal_reason]", "Court order 2026/114")
    page.click("button:has-text('Seal record')")
    page.locator(".badge-sealed").wait_for()
    # One API document for every service, rendered without internet access.
    page.goto("/docs")
    for service in ("auth", "records", "prediction", "hotspots"):
        page.locator(f".opblock-tag-section h3 >> text={service}").first.wait_for()
    _shot(page, "15-api-docs", full_page=False)
    context.close()

    phone = browser.new_context(
        base_url=system.url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = phone.new_page()
    page.set_default_timeout(20_000)
    page.goto("/public/statistics")
    page.get_by_test_id("total").wait_for()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is wider than a phone screen ({width}px)"
    _shot(page, "13-phone-public-statistics")
    page.click("button[aria-label=Menu]")
    page.locator("nav.open").wait_for()
    _shot(page, "14-phone-menu")
    phone.close()

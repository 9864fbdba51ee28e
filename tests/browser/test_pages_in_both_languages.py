"""Every staff page in Arabic and English at 1280 px: nothing wider than the window, no
department code or message key on an Arabic page, and the screenshots the README shows
(written to docs/screenshots/ when QANAT_SCREENSHOTS=1, else to a scratch folder)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from qanat.web import work
from tests.browser.conftest import Server, log_in, switch_to_english, wider_than_the_window
from tests.support.arabic import leaks

pytestmark = pytest.mark.browser

DOCS = Path(__file__).parents[2] / "docs" / "screenshots"
CODES = {
    "roads", "sewage", "buildings", "lighting", "cleanliness", "parks", "planning", "call_centre",
    "capital_office", "muharraq_office", "northern_office", "southern_office",
}  # fmt: skip
PAGES = [
    "/inbox", "/inbox?queue=all&sort=due&dir=asc", "/tickets/QN-2026-000002",
    "/tickets/QN-2026-000003", "/dashboard?days=120", "/settings", "/settings/departments",
    "/settings/departments/sewage", "/settings/canned", "/settings/canned/1", "/settings/users",
    "/settings/rules", "/settings/sla", "/admin/tokens", "/admin/audit", "/admin/ledger",
    "/settings/notices", "/settings/notices/ack",
    "/admin/channels", "/dead-letters", "/account", "/coverage", "/log",
]  # fmt: skip
#: name → page, for the README.
SHOTS = {"inbox": "/inbox?queue=all", "ticket": "/tickets/QN-2026-000002",
         "dashboard": "/dashboard?days=40", "settings": "/settings/canned/1"}  # fmt: skip


@pytest.fixture(scope="module")
def worked(server: Server) -> Server:
    """A little history first, so timelines show routing, links, transfers, notes."""

    async def history(runtime: Any, who: Any) -> None:
        await work.link(runtime, who, "QN-2026-000002", "QN-2026-000001")
        await work.note(runtime, who, "QN-2026-000002", "أرسلنا صهريجًا للشفط")
        await work.take(runtime, who, "QN-2026-000005")
        for reference in ("QN-2026-000001", "QN-2026-000003", "QN-2026-000004"):
            await work.reply(runtime, who, reference, "وصل بلاغكم {reference} ونعمل عليه.")
        await work.update(runtime, who, "QN-2026-000003", status="resolved")

    server.act_as("admin", history)
    return server


def shots_folder(tmp_path: Path) -> Path:
    return DOCS if os.environ.get("QANAT_SCREENSHOTS") == "1" else tmp_path


@pytest.mark.parametrize("language", ["ar", "en"])
def test_no_page_is_wider_than_the_window_and_arabic_shows_no_code(
    page: Any, worked: Server, language: str, tmp_path: Path
) -> None:
    log_in(page, worked, "admin")
    if language == "en":
        switch_to_english(page)
    problems = {}
    for path in PAGES:
        page.goto(f"{worked.url}{path}")
        assert page.get_attribute("html", "lang") == language, path
        if wider_than_the_window(page):
            problems[path] = "wider than the window"
        if language == "ar" and (found := leaks(page.content(), codes=CODES)):
            problems[path] = f"shows {found}"
    folder = shots_folder(tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    for name, path in SHOTS.items():
        page.goto(f"{worked.url}{path}")
        page.screenshot(path=str(folder / f"{name}-{language}.png"))
        assert (folder / f"{name}-{language}.png").stat().st_size > 10_000
    if language == "en":  # leave the account in Arabic for the module's other tests
        page.click('header.top form[action="/account/language"] button')
    assert problems == {}

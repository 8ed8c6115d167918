"""Generate: a prompt makes four images; open, download, variations, settings, history across reloads."""

from __future__ import annotations

import pytest

from unclip.provenance import verify_bytes

from .conftest import PLAYWRIGHT_MISSING
from .helpers import all_images_loaded, download, download_bytes, wait_js

expect = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING).expect

PROMPT = "a red apple on a wooden table"


def test_prompt_makes_four_images_open_download_vary_and_history(new_page, editor_server, shot):
    page = new_page(editor_server)
    expect(page.locator("#gen-empty")).to_be_visible()
    page.fill("#gen-prompt", PROMPT)
    page.click("#gen-submit")
    # busy: spinner, disabled button
    expect(page.locator("#gen-status .spinner")).to_be_visible()
    expect(page.locator("#gen-submit")).to_be_disabled()
    all_images_loaded(page, "#gen-results img", 4, 256)
    expect(page.locator("#gen-submit")).to_be_enabled()
    expect(page.locator("#gen-status")).to_be_hidden()
    expect(page.locator("#gen-title")).to_have_text(PROMPT)
    page.locator("#gen-results .result").nth(0).hover()
    page.wait_for_timeout(300)  # the actions fade in
    shot(page, "editor-generate")

    # open full size
    page.locator("#gen-results img").nth(1).click()
    lightbox = page.locator("#lightbox")
    expect(lightbox).to_be_visible()
    wait_js(page, "() => document.querySelector('#lightbox-image').naturalWidth === 256")
    shot(page, "editor-generate-open")
    page.click("#lightbox-close")
    expect(lightbox).to_be_hidden()

    # download a PNG
    card = page.locator("#gen-results .result").nth(2)
    card.hover()
    pixels, name = download(page, lambda: card.locator("button[data-action=Download]").click())
    assert pixels.shape == (256, 256, 4) and name.endswith(".png") and "red-apple" in name
    report = verify_bytes(download_bytes(page, lambda: card.locator("button[data-action=Download]").click()))
    assert (
        report.manifest.state == "valid" and report.manifest.operation == "generate"
    )  # the server's own PNG
    assert report.watermark is not None and report.watermark.present

    # the settings change n: variations of one result, two of them
    page.click("#settings-button")
    page.fill("#set-n", "2")
    page.select_option("#set-size", "256")
    page.click("#settings-save")
    card.hover()
    card.locator("button[data-action=Variations]").click()
    expect(page.locator("#gen-submit")).to_be_disabled()
    all_images_loaded(page, "#gen-results img", 2, 256)
    expect(page.locator("#gen-title")).to_contain_text("Variations")

    # any result goes to the Edit and Outpaint tabs
    card = page.locator("#gen-results .result").nth(0)
    card.hover()
    card.locator("button[data-action=Edit]").click()
    expect(page.locator("#edit-canvas")).to_be_visible()
    expect(page.locator("#edit-versions .thumb-button")).to_have_count(1)
    page.click(".tab[data-tab=generate]")
    card.hover()
    card.locator("button[data-action=Outpaint]").click()
    expect(page.locator("#op-size")).to_have_text("Canvas 256×256")
    page.click(".tab[data-tab=generate]")

    # the history survives a reload, shows any entry again, and can be cleared
    entries = page.locator("#history-list .history-entry")
    expect(entries).to_have_count(2)
    page.reload()
    page.wait_for_selector("body[data-ready='1']", state="attached")
    expect(entries).to_have_count(2)
    all_images_loaded(page, "#gen-results img", 2, 256)  # the latest entry is shown again
    entries.nth(1).click()
    all_images_loaded(page, "#gen-results img", 4, 256)
    expect(page.locator("#gen-title")).to_have_text(PROMPT)
    assert page.evaluate("JSON.parse(localStorage.getItem('unclip.settings')).n") == 2

    page.click("#history-clear")
    page.click("#confirm-ok")
    expect(entries).to_have_count(0)
    expect(page.locator("#gen-empty")).to_be_visible()
    page.reload()
    page.wait_for_selector("body[data-ready='1']", state="attached")
    expect(entries).to_have_count(0)

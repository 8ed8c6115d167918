"""Feedback: content policy refusals and API errors shown with the API's message, busy state and
cancelling, and the API key flow (asked for, stored in localStorage, sent as a bearer token)."""

from __future__ import annotations

import re

import pytest

from .conftest import API_KEY, PLAYWRIGHT_MISSING, wait_ready
from .helpers import all_images_loaded, save_png

expect = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING).expect

REFUSED_PROMPT = "a nude woman posing on a bed"  # unclip/safety/data/prompts/dev.txt, category sexual


def test_policy_refusals_show_the_message(new_page, editor_server, shot, tmp_path):
    page = new_page(editor_server)
    page.fill("#gen-prompt", REFUSED_PROMPT)
    page.click("#gen-submit")
    message = page.locator("#message")
    expect(message).to_be_visible()
    expect(message).to_have_attribute("data-kind", "policy")
    # the banner names what the check found (the server's x-unclip-refusal-category header)
    expect(page.locator("#message-title")).to_have_text("Refused by the content policy (sexual).")
    expect(page.locator("#message-text")).to_contain_text(
        "Your request was rejected as a result of our safety system. Your prompt may contain text"
    )
    expect(page.locator("#gen-submit")).to_be_enabled()
    expect(page.locator("#gen-empty")).to_be_visible()  # no images, nothing in the history
    expect(page.locator("#history-list .history-entry")).to_have_count(0)
    shot(page, "editor-refusal")
    page.click("#message-close")
    expect(message).to_be_hidden()

    # an upload the policy refuses (a realistic face), in the Edit tab
    from skimage import data

    path = save_png(data.astronaut(), tmp_path / "astronaut.png")
    page.click(".tab[data-tab=edit]")
    page.set_input_files("#edit-file", str(path))
    page.click("#crop-ok")
    box = page.locator("#edit-canvas").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.8)
    page.fill("#edit-prompt", "an astronaut in a garden")
    with page.expect_response("**/v1/images/edits") as response:
        page.click("#edit-submit")
    assert response.value.status == 400
    expect(message).to_be_visible()
    expect(message).to_have_attribute("data-kind", "policy")
    expect(page.locator("#message-text")).to_contain_text("The uploaded image may contain content")
    expect(page.locator("#message-title")).to_have_text(
        re.compile(r"^Refused by the content policy \(\w+\)\.$")
    )
    expect(page.locator("#edit-candidates")).to_be_hidden()


def test_busy_state_and_cancel(new_page, editor_server, shot):
    page = new_page(editor_server)
    page.fill("#gen-prompt", "a lighthouse at dusk")
    page.click("#gen-submit")
    expect(page.locator("#gen-status .spinner")).to_be_visible()
    for selector in ("#gen-submit", "#edit-submit", "#op-submit"):  # every tab's Generate waits
        expect(page.locator(selector)).to_be_disabled()
    shot(page, "editor-busy")
    page.click("#gen-status button")  # Cancel
    expect(page.locator("#message")).to_have_attribute("data-kind", "info")
    expect(page.locator("#message-title")).to_have_text("Cancelled.")
    expect(page.locator("#gen-status")).to_be_hidden()
    expect(page.locator("#gen-submit")).to_be_enabled()


def test_api_key_is_asked_stored_and_sent(new_page, keyed_server, shot):
    page = new_page(keyed_server)
    sent = []
    page.on(
        "request",
        lambda r: (
            sent.append(r.headers.get("authorization")) if r.url.endswith("/v1/images/generations") else None
        ),
    )
    dialog = page.locator("#key-dialog")
    expect(dialog).to_be_visible()  # asked at start: /health says the server needs a key
    expect(page.locator("#key-reason")).to_contain_text("needs an API key")
    page.click("#key-cancel")
    expect(dialog).to_be_hidden()

    page.fill("#gen-prompt", "a paper boat on a pond")
    page.click("#gen-submit")
    expect(dialog).to_be_visible()  # the 401 asks again
    page.fill("#key-input", "sk-wrong")
    page.click("#key-save")
    expect(dialog).to_be_visible()
    expect(page.locator("#key-reason")).to_contain_text("Incorrect API key provided")
    shot(page, "editor-api-key")
    page.fill("#key-input", API_KEY)
    page.keyboard.press("Enter")
    all_images_loaded(page, "#gen-results img", 4, 256)
    assert sent == [None, "Bearer sk-wrong", f"Bearer {API_KEY}"]
    assert page.evaluate("localStorage.getItem('unclip.apiKey')") == API_KEY

    page.reload()
    wait_ready(page)
    expect(dialog).to_be_hidden()  # the stored key is used

    # forgotten key, dialog cancelled: the API's own message is shown
    page.click("#settings-button")
    expect(page.locator("#set-key-state")).to_have_text("A key is stored in this browser.")
    page.click("#set-key-forget")
    page.click("#settings-save")
    page.click("#gen-submit")
    expect(dialog).to_be_visible()
    page.click("#key-cancel")
    expect(page.locator("#message")).to_have_attribute("data-kind", "error")
    expect(page.locator("#message-title")).to_have_text("This server needs an API key.")
    expect(page.locator("#message-text")).to_contain_text("You didn't provide an API key.")


def test_the_header_shows_waived_safety_checks(new_page, editor_server):
    """The editor's server runs with the nudity check waived (conftest): unless nudenet is installed, the
    header says so, in the warning colour, and its tooltip says what is missing."""
    import importlib.util

    page = new_page(editor_server)
    info = page.locator("#server-info")
    if importlib.util.find_spec("nudenet") is not None:
        expect(info).to_contain_text("content policy on")
        expect(info).not_to_contain_text("WAIVED")
        return
    expect(info).to_contain_text("content policy on · WAIVED: nudity")
    expect(info).to_have_class(re.compile(r"\bbad\b"))
    expect(info).to_have_attribute("title", re.compile(r"nudity: WAIVED: nudenet not installed"))


def test_status_line_follows_the_server(new_page, editor_engine, tmp_path_factory):
    """/health is read again every few seconds: a server that stops is reported as unreachable."""
    from .conftest import INIT_SCRIPT, _server

    server = _server(editor_engine, tmp_path_factory)
    try:
        page = new_page(server, INIT_SCRIPT + "window.UNCLIP_HEALTH_EVERY_MS = 300;")
        info = page.locator("#server-info")
        expect(info).to_contain_text("up to 1024px · content policy")
        assert page.evaluate("unclipEditor.settings.size") == 256  # the tests' own setting, kept
        assert page.evaluate("unclipEditor.health.recommended_size") == 256  # a CPU server
    finally:
        server.stop()
    expect(info).to_have_text("server unreachable")
    expect(info).to_have_class(re.compile(r"\bbad\b"))
    expect(page.locator("#message-title")).to_have_text("The server is unreachable.")


def test_settings_start_at_the_recommended_size_and_ask_no_key_without_keys(new_page, editor_server):
    page = new_page(editor_server, init_script="")  # no saved settings: the server's recommendation
    assert page.evaluate("unclipEditor.settings.size") == 256
    page.click("#settings-button")
    expect(page.locator("#set-size option:checked")).to_have_text(re.compile(r"^256×256 \(recommended\)"))
    expect(page.locator("#set-size-note")).to_contain_text("recommended for this server (cpu)")
    page.select_option("#set-size", "1024")
    expect(page.locator("#set-size-note")).to_have_text("not timed on this server yet")  # no 1024 px job ran
    expect(page.locator("#set-key-field")).to_be_hidden()  # this server needs no key
    page.click("#settings-cancel")

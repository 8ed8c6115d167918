"""Streaming in the editor: the progress bar and partial images before the results, Cancel, and seeds."""

from __future__ import annotations

import re

import pytest

from .conftest import PLAYWRIGHT_MISSING
from .helpers import all_images_loaded, wait_js

expect = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING).expect

ONE_IMAGE = """
if (!localStorage.getItem("unclip.settings"))
  localStorage.setItem("unclip.settings", JSON.stringify({n: 1, size: 256}));
"""

# records, in the page, what the Generate tab showed and in which order
RECORD = """() => {
  window.seen = [];
  const note = (what) => { if (window.seen[window.seen.length - 1] !== what) window.seen.push(what); };
  new MutationObserver(() => {
    if (document.querySelector("#gen-status .stage-progress")) note("bar");
    if (document.querySelector("#gen-status[data-progress-seen]")) note("progress");
    if (document.querySelector("#gen-results .result.partial canvas")) note("partial");
    if (document.querySelector("#gen-results .result img")) note("final");
  }).observe(document.body, {subtree: true, childList: true, attributes: true});
}"""

PIXELS = """async () => {
  const image = document.querySelector("#gen-results .result img");
  const canvas = document.createElement("canvas");
  canvas.width = image.naturalWidth;
  canvas.height = image.naturalHeight;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(image, 0, 0);
  return Array.from(ctx.getImageData(0, 0, canvas.width, canvas.height).data.filter((_, i) => i % 97 === 0));
}"""


def test_progress_bar_and_partials_before_the_results(new_page, editor_server, shot):
    page = new_page(editor_server)
    page.evaluate(RECORD)
    page.fill("#gen-prompt", "a red apple on a wooden table")
    page.click("#gen-submit")
    all_images_loaded(page, "#gen-results .result img", 4, 256)
    seen = page.evaluate("window.seen")
    assert "bar" in seen and "partial" in seen and "final" in seen, seen
    assert seen.index("bar") < seen.index("partial") < seen.index("final"), seen
    assert page.evaluate("window.unclipEditor.partialsShown") >= 1
    expect(page.locator("#gen-results .result.partial")).to_have_count(0)  # replaced by the results
    expect(page.locator("#gen-seed-used")).to_have_text(re.compile(r"^seed \d+$"))
    expect(page.locator("#history-list .history-entry")).to_have_count(1)


def test_cancel_stops_the_stream_and_adds_nothing(new_page, editor_server, shot):
    page = new_page(editor_server)
    page.fill("#gen-prompt", "a lighthouse at dusk")
    page.click("#gen-submit")
    expect(page.locator("#gen-status .stage-progress")).to_be_visible()
    page.click("#gen-status .status-cancel")
    expect(page.locator("#message-title")).to_have_text("Cancelled.")
    expect(page.locator("#gen-status")).to_be_hidden()
    expect(page.locator("#gen-submit")).to_be_enabled()
    assert page.evaluate("window.unclipEditor.lastOutcome") == "cancelled"
    page.wait_for_timeout(500)
    expect(page.locator("#history-list .history-entry")).to_have_count(0)
    expect(page.locator("#gen-results .result")).to_have_count(0)  # no partial left on screen
    expect(page.locator("#gen-empty")).to_be_visible()


def test_reused_seed_gives_the_same_image(new_page, editor_server, shot):
    page = new_page(editor_server, init_script=ONE_IMAGE)
    page.fill("#gen-prompt", "a blue bird on a branch")
    page.click("#gen-submit")
    all_images_loaded(page, "#gen-results .result img", 1, 256)
    used = page.locator("#gen-seed-used").inner_text()
    assert used.startswith("seed "), used
    first = page.evaluate(PIXELS)

    page.click("#gen-reuse-seed")
    expect(page.locator("#gen-seed")).to_have_value(used.removeprefix("seed "))
    page.click("#gen-submit")
    wait_js(page, "() => document.querySelectorAll('#history-list .history-entry').length === 2")
    all_images_loaded(page, "#gen-results .result img", 1, 256)
    expect(page.locator("#gen-seed-used")).to_have_text(used)
    assert page.evaluate(PIXELS) == first

    # another seed, another image
    page.fill("#gen-seed", str(int(used.removeprefix("seed ")) + 1))
    page.click("#gen-submit")
    wait_js(page, "() => document.querySelectorAll('#history-list .history-entry').length === 3")
    all_images_loaded(page, "#gen-results .result img", 1, 256)
    assert page.evaluate(PIXELS) != first

"""Streaming in the editor: the progress bar and partial images before the results, Cancel, and seeds."""

from __future__ import annotations

import re

import pytest

from .conftest import PLAYWRIGHT_MISSING
from .helpers import all_images_loaded, photo, save_png, wait_js

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


# what the Edit and Canvas tabs showed, in order: a partial drawn on the picture, then the candidates
RECORD_ON_CANVAS = """([canvas, candidates]) => {
  window.recorder?.disconnect();
  const seen = window.seen = [];
  const note = (what) => { if (seen[seen.length - 1] !== what) seen.push(what); };
  window.recorder = new MutationObserver(() => {
    if (document.querySelector(canvas + "[data-partial]")) note("partial");
    if (document.querySelector(candidates)) note("candidates");
  });
  window.recorder.observe(document.body, {subtree: true, childList: true, attributes: true});
}"""


def test_edit_and_canvas_draw_partials_where_the_results_appear(new_page, editor_server, shot, tmp_path):
    path = save_png(photo("chelsea", 256), tmp_path / "chelsea.png")
    page = new_page(editor_server, init_script=ONE_IMAGE)

    page.click(".tab[data-tab=edit]")
    page.set_input_files("#edit-file", str(path))
    page.click("#crop-ok")
    box = page.locator("#edit-canvas").bounding_box()
    page.mouse.move(box["x"] + 0.3 * box["width"], box["y"] + 0.3 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.6 * box["width"], box["y"] + 0.5 * box["height"], steps=6)
    page.mouse.up()
    page.fill("#edit-prompt", "a cat wearing a red hat")
    page.evaluate(RECORD_ON_CANVAS, ["#edit-canvas", "#edit-candidate-list .thumb-button"])
    page.click("#edit-submit")
    expect(page.locator("#edit-candidate-list .thumb-button")).to_have_count(1)
    assert page.evaluate("window.seen") == ["partial", "candidates"]
    assert page.get_attribute("#edit-canvas", "data-partial") is None  # the preview is gone

    page.click(".tab[data-tab=outpaint]")
    page.set_input_files("#op-file", str(path))
    page.fill("#op-prompt", "a cat on a sofa, wide view")
    page.evaluate(RECORD_ON_CANVAS, ["#op-canvas", "#op-candidates:not([hidden])"])
    page.click("#op-submit")
    expect(page.locator("#op-cand-index")).to_have_text("1 / 1")
    assert page.evaluate("window.seen") == ["partial", "candidates"]
    assert page.get_attribute("#op-canvas", "data-partial") is None

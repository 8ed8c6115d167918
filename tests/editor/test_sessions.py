"""Sessions survive a reload: an Edit session (versions, mask, candidates being chosen) and a Canvas
session (uploads, fills, an erased and refilled area, candidates) come back whole from IndexedDB; a
download while a candidate is shown is that candidate's PNG, byte for byte; history entries open in
their own tab."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from .conftest import PLAYWRIGHT_MISSING, wait_ready
from .helpers import download, download_bytes, photo, png_pixels, save_png

expect = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING).expect


def _saved(page) -> None:
    """Wait until every change is written to IndexedDB (the editor saves shortly after each change)."""
    assert page.evaluate("unclipEditor.sessions.flush()") is True


def _reload(page) -> None:
    _saved(page)
    page.reload()
    wait_ready(page)


def _drag(page, selector, stroke):
    box = page.locator(selector).bounding_box()
    points = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in stroke]
    page.mouse.move(*points[0])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(x, y, steps=6)
    page.mouse.up()


def _response_pngs(response) -> list[bytes]:
    """The completed images of the editor's streamed answer (server-sent events)."""
    events = [json.loads(line[5:]) for line in response.text().splitlines() if line.startswith("data:")]
    return [base64.b64decode(e["b64_json"]) for e in events if e["type"].endswith(".completed")]


def test_edit_session_survives_reload_and_downloads_the_shown_candidate(new_page, editor_server, tmp_path):
    source = photo("chelsea", 256)
    page = new_page(editor_server)
    page.click(".tab[data-tab=edit]")
    page.set_input_files("#edit-file", str(save_png(source, tmp_path / "chelsea.png")))
    page.click("#crop-ok")
    _drag(page, "#edit-canvas", [(0.3, 0.3), (0.6, 0.35)])
    page.fill("#edit-prompt", "a cat wearing a red hat")
    with page.expect_response("**/v1/images/edits") as response:
        page.click("#edit-submit")
    pngs = _response_pngs(response.value)
    expect(page.locator("#edit-candidate-list .thumb-button")).to_have_count(4)
    page.locator("#edit-candidate-list .thumb-button").nth(2).click()
    expect(page.locator("#edit-preview-badge")).to_have_text("Result 3 of 4")

    # the download is the candidate on screen, the server's PNG byte for byte (not the upload)
    assert download_bytes(page, lambda: page.click("#edit-download")) == pngs[2]

    # reload while choosing: the picture, its mask, the candidates and the one shown come back
    _reload(page)
    expect(page.locator(".tab[data-tab=edit]")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#edit-versions .thumb-button")).to_have_count(1)
    expect(page.locator("#edit-candidate-list .thumb-button")).to_have_count(4)
    expect(page.locator("#edit-preview-badge")).to_have_text("Result 3 of 4")
    assert page.evaluate("unclipEditor.tabs.edit.hasMask()")
    assert page.input_value("#edit-prompt") == "a cat wearing a red hat"
    assert download_bytes(page, lambda: page.click("#edit-download")) == pngs[2]
    page.keyboard.press("ArrowRight")
    assert download_bytes(page, lambda: page.click("#edit-download")) == pngs[3]

    # keep it, reload: two versions, the kept one current; the first is still the upload, exactly
    page.click("#edit-keep")
    expect(page.locator("#edit-versions .thumb-button")).to_have_count(2)
    _reload(page)
    expect(page.locator("#edit-versions .thumb-button")).to_have_count(2)
    expect(page.locator("#edit-versions .thumb-button.current")).to_have_attribute("data-version", "1")
    expect(page.locator("#edit-candidates")).to_be_hidden()
    kept, name = download(page, lambda: page.click("#edit-download"))
    assert name.endswith("-v2.png") and np.array_equal(kept, png_pixels(pngs[3]))
    page.locator("#edit-versions .thumb-button").nth(0).click()
    first, _ = download(page, lambda: page.click("#edit-download"))
    assert np.array_equal(first[..., :3], source)

    # the edit's history entry opens in the Edit tab, with its candidates to choose from again
    page.click(".tab[data-tab=generate]")
    page.locator("#history-list .history-entry[data-kind=edit]").click()
    expect(page.locator(".tab[data-tab=edit]")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#edit-candidate-list .thumb-button")).to_have_count(4)
    expect(page.locator("#edit-preview-badge")).to_have_text("Result 1 of 4")
    assert download_bytes(page, lambda: page.click("#edit-download")) == pngs[0]
    expect(page.locator("#edit-versions .thumb-button")).to_have_count(2)  # the same session: nothing lost


def _canvas(page):
    return page.evaluate("""(() => { const t = unclipEditor.tabs.outpaint;
        return {frame: t.frame, origin: t.origin, w: t.world && t.world.width, h: t.world && t.world.height,
                k: t.k, ops: t.ops.map((o) => o.type), candidates: t.candidates ? t.candidates.length : 0,
                index: t.candidateIndex};
    })()""")


def test_canvas_session_survives_reload_erase_inside_outpainted_area_and_undo_across(
    new_page, editor_server, editor_engine, tmp_path
):
    source = photo("coffee", 256)
    page = new_page(editor_server)
    page.click(".tab[data-tab=outpaint]")
    page.set_input_files("#op-file", str(save_png(source, tmp_path / "coffee.png")))
    expect(page.locator("#op-size")).to_have_text("Canvas 256×256")
    assert _canvas(page)["frame"] == {"x": 128, "y": 0}
    page.keyboard.press("Shift+ArrowRight")  # frame x 192..448: a quarter over the picture
    page.fill("#op-prompt", "a cup of coffee on a table, wide view")
    page.click("#op-submit")
    expect(page.locator("#op-candidates")).to_be_visible()
    assert editor_engine.edits[-1]["outpaint"] is True
    page.keyboard.press("ArrowRight")
    page.click("#op-accept")
    expect(page.locator("#op-size")).to_have_text("Canvas 448×256")
    filled, _ = download(page, lambda: page.click("#op-export"))

    # erase inside the outpainted area (x 300..400), then generate there: an edit inside the canvas
    page.click("#op-tool-erase")
    page.click("#op-fit")
    state = page.evaluate("unclipEditor.tabs.outpaint.view")
    box = page.locator("#op-canvas").bounding_box()

    def screen(x, y):
        return (
            box["x"] + box["width"] / 2 + (x - state["cx"]) * state["scale"],
            box["y"] + box["height"] / 2 + (y - state["cy"]) * state["scale"],
        )

    page.mouse.move(*screen(320, 100))
    page.mouse.down()
    page.mouse.move(*screen(380, 140), steps=6)
    page.mouse.up()
    erased, _ = download(page, lambda: page.click("#op-export"))
    holes = erased[..., 3] == 0
    assert holes[100, 320] and holes[140, 380] and not holes[:, :256].any()
    assert np.array_equal(erased[~holes], filled[~holes])  # the eraser changed nothing else
    page.click("#op-tool-frame")  # the frame is still at x 192..448: inside the canvas, over the hole
    assert _canvas(page)["frame"] == {"x": 192, "y": 0}
    calls = len(editor_engine.edits)
    page.click("#op-submit")
    expect(page.locator("#op-candidates")).to_be_visible()
    (call,) = editor_engine.edits[calls:]
    assert call["outpaint"] is False  # inside the canvas: the model's edit method
    sent = np.asarray(call["image"])
    assert np.array_equal(sent[..., 3] == 0, holes[:, 192:448])  # exactly the erased pixels are sent empty
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")  # candidate 3 of 4

    # reload while choosing: the canvas (every step), the frame and candidate 3 come back
    before = _canvas(page)
    _reload(page)
    expect(page.locator(".tab[data-tab=outpaint]")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#op-size")).to_have_text("Canvas 448×256")
    expect(page.locator("#op-cand-index")).to_have_text("3 / 4")
    after = _canvas(page)
    assert after == before and after["ops"] == ["place", "fill", "erase"]
    again, _ = download(page, lambda: page.click("#op-export"))
    assert np.array_equal(again, erased)  # replayed from the saved steps, pixel for pixel
    page.keyboard.press("Enter")
    result, _ = download(page, lambda: page.click("#op-export"))
    assert (result[..., 3] == 255).all()  # the hole is filled
    assert np.array_equal(result[~holes], filled[~holes])  # and nothing else changed

    # undo across fill, erase and fill; redo back; and once more after a reload
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+z")
    undone, _ = download(page, lambda: page.click("#op-export"))
    assert np.array_equal(undone, filled)
    _reload(page)
    assert _canvas(page)["k"] == 2
    page.keyboard.press("Control+Shift+z")
    page.keyboard.press("Control+Shift+z")
    redone, _ = download(page, lambda: page.click("#op-export"))
    assert np.array_equal(redone, result)

    # the assembled canvas kept in the history; its entry opens it in the canvas
    page.click("#op-keep")
    expect(page.locator("#history-list .history-entry[data-kind=canvas]")).to_have_count(1)
    page.click("#op-new")
    expect(page.locator("#op-size")).to_have_text("Empty canvas")
    page.locator("#history-list .history-entry[data-kind=canvas]").click()
    expect(page.locator("#op-size")).to_have_text("Canvas 448×256")
    reopened, _ = download(page, lambda: page.click("#op-export"))
    assert np.array_equal(reopened, result)

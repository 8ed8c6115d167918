"""Outpaint: place the frame partly over the picture, generate, pick a candidate, repeat in another
direction; the canvas grows and the picture's own pixels stay exactly as uploaded."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import PLAYWRIGHT_MISSING
from .helpers import download, photo, save_png

expect = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING).expect


def _frame(page):
    return page.evaluate("unclipEditor.tabs.outpaint.frameScreenRect()")


def _state(page):
    return page.evaluate("""(() => { const t = unclipEditor.tabs.outpaint;
        return {frame: t.frame, origin: t.origin, w: t.world && t.world.width, h: t.world && t.world.height};
    })()""")


def _generate_and_accept(page, editor_engine, pick: int) -> None:
    calls = len(editor_engine.edits)
    page.click("#op-submit")
    expect(page.locator("#op-submit")).to_be_disabled()
    expect(page.locator("#op-status .spinner")).to_be_visible()
    expect(page.locator("#op-candidates")).to_be_visible()
    expect(page.locator("#op-cand-index")).to_have_text("1 / 4")
    for _ in range(pick):
        page.keyboard.press("ArrowRight")
    expect(page.locator("#op-cand-index")).to_have_text(f"{pick + 1} / 4")
    (call,) = editor_engine.edits[calls:]
    assert call["size"] == 256 and call["image"].size == (256, 256) and call["mask"] is None
    assert call["outpaint"] is True  # filled with the model's outpainting method


def test_frame_over_the_edge_grows_the_canvas_and_keeps_the_picture(
    new_page, editor_server, editor_engine, shot, tmp_path
):
    source = photo("coffee", 256)
    path = save_png(source, tmp_path / "coffee.png")
    page = new_page(editor_server)
    page.click(".tab[data-tab=outpaint]")
    expect(page.locator("#op-export")).to_be_disabled()
    page.set_input_files("#op-file", str(path))
    expect(page.locator("#op-size")).to_have_text("Canvas 256×256")
    # the frame starts half over the picture's right edge; drag it 64 px further right and 64 px down
    assert _state(page)["frame"] == {"x": 128, "y": 0}
    rect = _frame(page)
    cx, cy = rect["x"] + rect["width"] / 2, rect["y"] + rect["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + 64 * rect["scale"], cy + 64 * rect["scale"], steps=8)
    page.mouse.up()
    assert _state(page)["frame"] == {"x": 192, "y": 64}
    page.fill("#op-prompt", "a cup of coffee on a table, wide view")
    _generate_and_accept(page, editor_engine, pick=1)
    sent = np.asarray(editor_engine.edits[-1]["image"])
    # the frame's crop: the picture's part (x 192..256, y 64..256) exact and opaque, the rest transparent
    assert (sent[:192, :64, 3] == 255).all() and np.array_equal(sent[:192, :64, :3], source[64:, 192:])
    assert (sent[192:, :, 3] == 0).all() and (sent[:, 64:, 3] == 0).all()
    shot(page, "editor-outpaint-candidates")
    page.click("#op-accept")
    expect(page.locator("#op-candidates")).to_be_hidden()
    expect(page.locator("#op-size")).to_have_text("Canvas 448×320")

    # again, to the left and up, with the keyboard (Shift+arrow: 64 px)
    for key in ["Shift+ArrowLeft"] * 6 + ["Shift+ArrowUp"] * 2:
        page.keyboard.press(key)
    assert _state(page)["frame"] == {"x": -192, "y": -64}
    _generate_and_accept(page, editor_engine, pick=0)
    page.keyboard.press("Enter")  # accept
    expect(page.locator("#op-size")).to_have_text("Canvas 640×384")
    state = _state(page)
    assert state["origin"] == {"x": -192, "y": -64}
    page.click("#op-fit")
    shot(page, "editor-outpaint")

    canvas, name = download(page, lambda: page.click("#op-export"))
    assert name.endswith(".png") and canvas.shape == (384, 640, 4)
    ox, oy = 192, 64  # where the picture's top-left is in the export
    assert (canvas[oy : oy + 256, ox : ox + 256, 3] == 255).all()
    assert np.array_equal(canvas[oy : oy + 256, ox : ox + 256, :3], source)  # original pixels unchanged
    assert (canvas[oy + 64 : oy + 320, ox + 192 : ox + 448, 3] == 255).all()  # first frame: filled
    assert (canvas[0:256, 0:256, 3] == 255).all()  # second frame: filled
    assert (canvas[0:50, 300:640, 3] == 0).all()  # outside picture and frames: still empty
    assert not np.array_equal(canvas[oy + 64 : oy + 320, ox + 256 : ox + 448, :3], 0)

    # undo / redo the last fill
    page.keyboard.press("Control+z")
    expect(page.locator("#op-size")).to_have_text("Canvas 448×320")
    page.keyboard.press("Control+Shift+z")
    expect(page.locator("#op-size")).to_have_text("Canvas 640×384")
    expect(page.locator("#history-list .history-entry[data-kind=outpaint]")).to_have_count(2)


def test_frame_without_empty_area_is_explained(new_page, editor_server, tmp_path):
    path = save_png(photo("coffee", 256), tmp_path / "coffee.png")
    page = new_page(editor_server)
    page.click(".tab[data-tab=outpaint]")
    page.set_input_files("#op-file", str(path))
    expect(page.locator("#op-size")).to_have_text("Canvas 256×256")
    for _ in range(2):
        page.keyboard.press("Shift+ArrowLeft")  # frame at 0,0: exactly over the picture
    page.fill("#op-prompt", "a cup of coffee")
    page.click("#op-submit")
    expect(page.locator("#message")).to_contain_text("The frame has nothing to fill")
    assert page.evaluate("unclipEditor.tabs.outpaint.frame") == {"x": 0, "y": 0}

"""Edit: upload (crop dialog), erase with the brush, undo/redo, generate, choose, keep; pixels outside the
erased area come back unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from unclip.provenance import verify_bytes

from .conftest import PLAYWRIGHT_MISSING
from .helpers import download, download_bytes, photo, save_png

expect = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING).expect


def _erase(page, stroke):
    """Drag the eraser along [(fx, fy), ...] given as fractions of the picture."""
    box = page.locator("#edit-canvas").bounding_box()
    points = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in stroke]
    page.mouse.move(*points[0])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(x, y, steps=6)
    page.mouse.up()


def _has_mask(page) -> bool:
    return page.evaluate("unclipEditor.tabs.edit.hasMask()")


def test_upload_erase_generate_keep_preserves_unerased_pixels(
    new_page, editor_server, editor_engine, shot, tmp_path
):
    source = photo("chelsea", 256)
    path = save_png(source, tmp_path / "chelsea.png")
    page = new_page(editor_server)
    page.click(".tab[data-tab=edit]")
    expect(page.locator("#edit-empty")).to_be_visible()
    expect(page.locator("#edit-submit")).to_be_disabled()
    page.set_input_files("#edit-file", str(path))
    expect(page.locator("#crop-dialog")).to_be_visible()
    expect(page.locator("#crop-info")).to_contain_text("256×256 image")
    page.click("#crop-ok")
    expect(page.locator("#edit-canvas")).to_be_visible()
    expect(page.locator("#edit-versions .thumb-button")).to_have_count(1)

    # brush size: slider and [ ]
    assert page.input_value("#edit-brush") == "40"
    page.keyboard.press("]")
    assert int(page.input_value("#edit-brush")) > 40
    page.keyboard.press("[")
    assert page.input_value("#edit-brush") == "40"
    expect(page.locator("#edit-brush-value")).to_have_text("40 px")

    # erase a stroke across the face; undo / redo it with the keyboard
    assert not _has_mask(page)
    _erase(page, [(0.35, 0.3), (0.55, 0.32), (0.6, 0.4)])
    assert _has_mask(page)
    page.keyboard.press("Control+z")
    assert not _has_mask(page)
    page.keyboard.press("Control+Shift+z")
    assert _has_mask(page)
    page.mouse.move(0, 0)
    shot(page, "editor-edit-mask")

    page.fill("#edit-prompt", "a cat wearing a red hat")
    calls = len(editor_engine.edits)
    page.click("#edit-submit")
    expect(page.locator("#edit-submit")).to_be_disabled()
    expect(page.locator("#edit-status .spinner")).to_be_visible()
    expect(page.locator("#edit-candidate-list .thumb-button")).to_have_count(4)
    (call,) = editor_engine.edits[calls:]  # what the server received from the browser
    assert (call["prompt"], call["n"], call["size"], call["mask"], call["outpaint"]) == (
        "a cat wearing a red hat",
        4,
        256,
        None,
        False,
    )
    assert call["image"].mode == "RGBA" and call["image"].size == (256, 256)
    sent = np.asarray(call["image"])
    erased = sent[..., 3] == 0
    # the stroke's points are erased, the corners are not, and nothing else is partly transparent
    assert erased[int(0.3 * 256), int(0.35 * 256)] and erased[int(0.4 * 256), int(0.6 * 256)]
    assert not erased[:20, :20].any() and not erased[-20:, -20:].any()
    assert 500 < erased.sum() < 0.25 * 256 * 256
    assert set(np.unique(sent[..., 3])) == {0, 255}
    assert np.array_equal(sent[~erased][:, :3], source[~erased])  # the upload's own pixels, unchanged

    # choose among the candidates, keep one
    candidates = page.locator("#edit-candidate-list .thumb-button")
    expect(candidates).to_have_count(4)
    expect(page.locator("#edit-submit")).to_be_disabled()  # choosing first
    candidates.nth(2).click()
    expect(page.locator("#edit-preview-badge")).to_have_text("Result 3 of 4")
    shot(page, "editor-edit-candidates")
    page.click("#edit-keep")
    expect(page.locator("#edit-candidates")).to_be_hidden()
    expect(page.locator("#edit-versions .thumb-button")).to_have_count(2)
    expect(page.locator("#edit-versions .thumb-button.current")).to_have_attribute("data-version", "1")

    result, name = download(page, lambda: page.click("#edit-download"))
    assert name.endswith(".png") and result.shape == (256, 256, 4)
    assert (result[..., 3] == 255).all()
    assert np.array_equal(result[~erased][:, :3], source[~erased])  # outside the erased area: unchanged
    assert not np.array_equal(result[erased][:, :3], source[erased])  # inside: generated
    # the download is the server's PNG itself: its C2PA manifest validates and says an input was edited
    report = verify_bytes(download_bytes(page, lambda: page.click("#edit-download")))
    assert (
        report.manifest.state == "valid"
        and report.manifest.operation == "edit"
        and report.manifest.inputs == 1
    )
    # (only the regenerated pixels carry the watermark: the kept ones are the user's, exactly, so a stroke
    # this small is not enough to read it back; the manifest is what marks a small edit)

    # the previous picture is kept: back to it by its version, and by undo
    page.locator("#edit-versions .thumb-button").nth(0).click()
    before, _ = download(page, lambda: page.click("#edit-download"))
    assert np.array_equal(before[..., :3], source)
    page.keyboard.press("Control+z")
    again, _ = download(page, lambda: page.click("#edit-download"))
    assert np.array_equal(again[..., :3], result[..., :3])
    # the edit is in the history too
    expect(page.locator("#history-list .history-entry[data-kind=edit]")).to_have_count(1)


def test_crop_dialog_makes_any_image_square(new_page, editor_server, tmp_path):
    from PIL import Image
    from skimage import data

    cup = data.coffee()  # 600 x 400
    path = save_png(cup, tmp_path / "coffee.png")
    page = new_page(editor_server)
    page.click(".tab[data-tab=edit]")
    page.set_input_files("#edit-file", str(path))
    expect(page.locator("#crop-info")).to_contain_text("600×400 image; square of 400×400 at 100,0")
    # drag the square to the right edge
    box = page.locator("#crop-canvas").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"], box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    expect(page.locator("#crop-info")).to_contain_text("square of 400×400 at 200,0")
    page.click("#crop-ok")
    expect(page.locator("#edit-canvas")).to_be_visible()
    result, _ = download(page, lambda: page.click("#edit-download"))
    assert result.shape == (256, 256, 4)
    crop = Image.fromarray(cup).crop((200, 0, 600, 400))
    expected = np.asarray(crop.resize((256, 256), Image.Resampling.LANCZOS))
    assert np.abs(result[..., :3].astype(int) - expected.astype(int)).mean() < 6

"""The Python API: every result records its origin; `UnCLIP.save` writes the marked, signed PNG."""

from __future__ import annotations

import numpy as np
from PIL import Image

from unclip.provenance import origin_of, verify_file


def test_save_marks_and_signs_and_an_edit_keeps_its_pixels(tiny_model_dir, tmp_path, monkeypatch):
    from unclip.pipeline.unclip_pipeline import UnCLIP

    pipe = UnCLIP.from_pretrained(tiny_model_dir, device="cpu")
    fast = {"prior_steps": 1, "decoder_steps": 1, "upsampler_256_steps": 1, "prior_candidates": 1}
    (image,) = pipe.generate("a red apple", size=256, seed=0, **fast)
    origin = origin_of(image)
    assert origin is not None and origin.operation == "generate" and origin.model == "unclip model tiny"
    report = verify_file(pipe.save(image, tmp_path / "apple.png"))
    assert report.manifest.state == "valid" and report.watermark.present

    source = np.asarray(image).copy()
    rgba = np.dstack([source, np.full(source.shape[:2], 255, np.uint8)])
    rgba[100:160, 100:160, 3] = 0
    (edited,) = pipe.edit(Image.fromarray(rgba, "RGBA"), None, "a blue heart", size=256, seed=1, **fast)
    assert origin_of(edited).operation == "edit" and len(origin_of(edited).inputs) == 1
    path = pipe.save(edited, tmp_path / "edit.png")
    saved = np.asarray(Image.open(path).convert("RGB"))
    kept = rgba[..., 3] > 0
    assert np.array_equal(saved[kept], source[kept])  # kept pixels: exactly the input, unmarked
    assert verify_file(path).manifest.operation == "edit"

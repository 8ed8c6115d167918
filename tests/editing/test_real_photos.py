"""Real photos shipped in scikit-image: the quality measures behave as defined, edits keep the photo
exactly outside the mask, and the quality benchmark script runs end to end (random micro model:
mechanics only; the quality numbers need the trained default model)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from unclip.pipeline.editing.quality import colour_gap, fixed_masks, flat_fill, seam_score

pytest.importorskip("skimage.data")

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "edit_quality.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("edit_quality", BENCH)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.mark.parametrize("name", ["astronaut", "chelsea", "coffee"])
def test_measures_rank_the_untouched_photo_above_a_flat_fill(bench, name):
    photo = np.asarray(bench.photo(name, 128))
    for mask, region in fixed_masks(128).items():
        flat = flat_fill(photo, region)
        assert 0.5 < seam_score(photo, region) < 1.6, mask  # an unedited photo has no seam
        assert seam_score(flat, region) > 1.5 * seam_score(photo, region), mask
        assert colour_gap(flat, region) > colour_gap(photo, region), mask


def test_editing_a_photo_keeps_it_exactly_outside_the_mask(bench, micro):
    image = bench.photo("chelsea", 256)
    region = fixed_masks(256)["strokes"]
    for method in ("trained", "zero-shot"):
        out = np.asarray(
            micro.edit(
                image,
                bench.alpha_mask(region),
                "a tabby cat",
                size=256,
                seed=0,
                method=method,
                prior_steps=1,
                decoder_steps=2,
                upsampler_256_steps=1,
                prior_candidates=1,
            )[0]
        )
        assert np.array_equal(out[~region], np.asarray(image)[~region])


def test_the_benchmark_script_runs(bench, micro):
    args = bench.parse_args(
        [
            "--size",
            "256",
            "--seeds",
            "1",
            "--images",
            "coffee,astronaut",
            "--masks",
            "centre_box,right_border",
            "--variations",
            "2",
            "--steps",
            "1",
        ]
    )
    from unclip.pipeline.unclip_pipeline import UnCLIP

    pipe = UnCLIP(micro.cascade, device="cpu", policy=bench.measurement_policy())
    result = bench.run(pipe, args)
    methods = {r["method"] for r in result["inpainting"]}
    assert methods == {"original", "flat_fill", "trained", "zero-shot"}
    assert len(result["inpainting"]) == 2 * 2 * 4 and len(result["variations"]) == 4
    assert len(result["reconstruction"]) == 2
    for check in ("trained", "vary", "differ", "invert"):
        assert any(line.startswith((f"PASS {check}", f"FAIL {check}")) for line in result["summary"])


def test_outpaint_seam_benchmark_finds_tile_borders_and_edges():
    """benchmarks/outpaint_seams.py: which lines are tile borders, and its ratio sees a hard edge."""
    path = BENCH.parent / "outpaint_seams.py"
    spec = importlib.util.spec_from_file_location("outpaint_seams", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    from PIL import Image

    from unclip.pipeline.editing.outpaint import plan_outpaint

    plan = plan_outpaint(Image.new("RGB", (256, 256)), left=384, right=384, size=256)
    where = module.lines(plan.known, plan.frames, 256)
    assert where["tile"] == [192, 832] and where["picture"] == [384, 640] and len(where["interior"]) == 4
    rng = np.random.default_rng(0)
    texture = rng.integers(100, 140, (64, 128, 3)).astype(np.uint8)
    edged = texture.copy()
    edged[:, 64:] += 80  # a step at column 64
    assert 0.7 < module.line_ratio(texture, 64, 8) < 1.3
    assert module.line_ratio(edged, 64, 8) > 3

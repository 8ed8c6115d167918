"""The independent judge: trained on real pictures of several styles, measured on a style it never saw,
loaded from its folder, and used by `unclip eval`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from unclip.cli.main import main
from unclip.errors import InputError
from unclip.evaluation import evaluate
from unclip.evaluation.judge import Judge, JudgeConfig
from unclip.evaluation.judge.train import train_judge
from unclip.pipeline.unclip_pipeline import UnCLIP

# Six concepts a picture shows by its shape and colour; four "styles" draw them differently.
CONCEPTS = {
    "red disc": ("ellipse", (220, 30, 30)),
    "blue disc": ("ellipse", (30, 60, 220)),
    "red square": ("rectangle", (220, 30, 30)),
    "blue square": ("rectangle", (30, 60, 220)),
    "green bar": ("bar", (30, 170, 60)),
    "yellow bar": ("bar", (230, 200, 20)),
}
STYLES = {"flat": (8, None), "outlined": (12, (0, 0, 0)), "small": (20, None), "unseen": (10, (90, 90, 90))}


def draw(concept: str, style: str, side: int = 64) -> Image.Image:
    shape, colour = CONCEPTS[concept]
    margin, outline = STYLES[style]
    im = Image.new("RGB", (side, side), "white")
    d = ImageDraw.Draw(im)
    box = (margin, margin, side - margin, side - margin)
    if shape == "bar":
        box = (margin, side // 2 - 6, side - margin, side // 2 + 6)
        shape = "rectangle"
    getattr(d, shape)(box, fill=colour, outline=outline, width=3 if outline else 0)
    return im


def write_styles(root: Path) -> Path:
    (root / "images").mkdir(parents=True)
    rows = []
    for style in STYLES:
        for i, concept in enumerate(CONCEPTS):
            file = f"images/{style}-{i}.png"
            draw(concept, style).save(root / file)
            rows.append(
                {
                    "file": file,
                    "caption": concept,
                    "concept": concept,
                    "style": style,
                    "split": "holdout" if i == 5 else "train",
                }
            )
    (root / "metadata.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    return root


TINY = JudgeConfig(num_classes=2, channels=[8, 16], blocks_per_stage=1, dropout=0.0)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path, dict]:
    root = tmp_path_factory.mktemp("judge")
    data = write_styles(root / "data")
    report = train_judge(
        data,
        root / "judge",
        test_style="unseen",
        epochs=60,
        batch_size=24,
        lr=1e-2,
        config=TINY,
        log=lambda _m: None,
    )
    return data, root / "judge", report


def test_the_judge_learns_concepts_and_reports_a_style_it_never_saw(trained):
    _, folder, report = trained
    assert report["train_styles"] == ["flat", "outlined", "small"] and report["test_style"] == "unseen"
    assert report["train_images"] == 18 and report["test_images"] == 6 and report["concepts"] == 6
    assert report["test_top1"] >= 0.5  # chance is 1/6
    judge = Judge.load(folder)
    assert judge.labels == sorted(CONCEPTS)
    assert "unseen" in judge.trust and "never saw" in judge.trust
    pictures = [draw(c, "unseen") for c in CONCEPTS]
    scores = judge.score(pictures, list(CONCEPTS))
    assert scores.images == 6 and scores.top1 == pytest.approx(report["test_top1"], abs=1e-6)
    # a blank picture is not any concept: the judge must not name "red disc" first for it
    blank = judge.score([Image.new("RGB", (64, 64), "white")] * 2, ["red disc", "blue disc"])
    assert blank.top1 < 1.0
    unknown = judge.score(pictures[:2], ["red disc", "a concept it never saw"])
    assert unknown.images == 1 and unknown.unknown == 1


def test_larger_and_transparent_pictures_are_scored_like_64_px_ones(trained):
    _, folder, _ = trained
    judge = Judge.load(folder)
    small = draw("blue square", "flat")
    big = small.resize((256, 256), Image.Resampling.NEAREST)  # area-downscaled back to exactly `small`
    rgba = small.convert("RGBA")
    rgba.putalpha(Image.eval(small.convert("L"), lambda v: 0 if v == 255 else 255))  # white -> transparent
    rgba = Image.composite(rgba, Image.new("RGBA", rgba.size, (0, 0, 0, 0)), rgba)  # hidden pixels black
    logits = judge.logits([small, big, rgba])
    assert (logits[1] - logits[0]).abs().max() < 1e-4
    assert (logits[2] - logits[0]).abs().max() < 1e-4  # transparency is composited on white, not black


def test_a_broken_judge_folder_is_an_error_naming_the_file(trained, tmp_path):
    _, folder, _ = trained
    import shutil

    for name, damage in (
        ("model.safetensors", b"\x00" * 10),
        ("labels.json", b"[1, 2"),
        ("config.json", b'{"num_classes": "x"}'),
    ):
        broken = tmp_path / name
        shutil.copytree(folder, broken)
        (broken / name).write_bytes(damage)
        with pytest.raises(InputError, match=name.replace(".", r"\.")):
            Judge.load(broken)
    missing = tmp_path / "missing"
    shutil.copytree(folder, missing)
    (missing / "report.json").unlink()
    with pytest.raises(InputError, match="report.json: missing"):
        Judge.load(missing)
    with pytest.raises(InputError, match="no judge folder"):
        Judge.load(tmp_path / "nowhere")


def test_eval_reports_the_judge_for_text_to_image_and_reconstruction(trained, tiny_cascade, tmp_path):
    data, folder, _ = trained
    pipe = UnCLIP(tiny_cascade, device="cpu")
    fast = {"prior_steps": 2, "decoder_steps": 2, "prior_candidates": 1}
    report = evaluate(
        pipe, data, per_split=10, size=64, judge=Judge.load(folder), save_dir=tmp_path / "gen", **fast
    )
    seen, unseen = report.seen, report.unseen
    assert seen.judge is not None and seen.reconstruction is not None and unseen is not None
    assert seen.judge.images == 5 and unseen.judge.images == 1 and seen.reconstruction.images == 5
    for s in (seen.judge, seen.reconstruction):
        assert 0 <= s.top1 <= s.top5 <= 1
    assert len(list((tmp_path / "gen").glob("*-reconstruction.png"))) == 6
    text = report.summary()
    assert "judge, text to image" in text and "judge, reconstruction" in text and "never saw" in text
    assert json.loads(json.dumps(report.to_dict()))["seen"]["reconstruction"]["images"] == 5


def test_the_cli_trains_a_judge_and_eval_uses_it(trained, tiny_model_dir, tmp_path, capsys):
    data, _, _ = trained
    out = tmp_path / "judge"
    assert (
        main(
            ["judge", "train", "--data", str(data), "-o", str(out), "--test-style", "unseen", "--epochs", "2"]
        )
        == 0
    )
    assert "top-5" in capsys.readouterr().out and (out / "model.safetensors").is_file()
    assert (
        main(["judge", "train", "--data", str(data), "-o", str(tmp_path / "j2"), "--test-style", "cubist"])
        == 2
    )
    assert "no 'cubist' pictures" in capsys.readouterr().err
    args = [
        "eval",
        "--data",
        str(data),
        "--model",
        str(tiny_model_dir),
        "--judge",
        str(out),
        "--prompts",
        "2",
        "--prior-steps",
        "1",
        "--decoder-steps",
        "1",
        "--no-safety",
        "--no-reconstruction",
    ]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "judge, text to image" in text and "reconstruction" not in text

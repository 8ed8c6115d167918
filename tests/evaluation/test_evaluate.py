import json

from PIL import Image

from unclip.evaluation import evaluate
from unclip.pipeline.unclip_pipeline import UnCLIP

FAST = {"prior_steps": 2, "decoder_steps": 2, "prior_candidates": 1}


def test_evaluate_reports_seen_and_unseen(tiny_cascade, tmp_path):
    (tmp_path / "images").mkdir()
    rows = []
    colours = {
        "a red apple": "red",
        "a blue car": "blue",
        "a cat sitting on a mat": "gray",
        "a bowl of soup": "orange",
    }
    for i, (caption, colour) in enumerate(colours.items()):
        Image.new("RGB", (16, 16), colour).save(tmp_path / "images" / f"{i}.png")
        split = "holdout" if i == 3 else "train"
        rows.append({"file": f"images/{i}.png", "caption": caption, "concept": caption, "split": split})
    (tmp_path / "metadata.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    report = evaluate(
        UnCLIP(tiny_cascade, device="cpu"), tmp_path, per_split=10, size=64, save_dir=tmp_path / "gen", **FAST
    )
    assert report.seen.prompts == 3 and report.unseen is not None and report.unseen.prompts == 1
    assert 0.0 <= report.seen.top1 <= report.seen.top5 <= 1.0
    assert report.seen.top5 == 1.0  # only 4 captions: the own one is always in the top 5
    assert report.seen.fid_clip >= 0
    assert len(list((tmp_path / "gen").glob("*.png"))) == 4
    assert "seen" in report.summary() and json.dumps(report.to_dict())


def test_a_refused_prompt_counts_as_a_miss_and_does_not_end_the_run(tiny_cascade, tmp_path):
    (tmp_path / "images").mkdir()
    captions = ["a red apple", "a blue car", "how to build a bomb", "a bowl of soup"]
    rows = []
    for i, caption in enumerate(captions):
        Image.new("RGB", (16, 16), ["red", "blue", "gray", "orange"][i]).save(
            tmp_path / "images" / f"{i}.png"
        )
        rows.append({"file": f"images/{i}.png", "caption": caption, "concept": caption, "split": "train"})
    (tmp_path / "metadata.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    pipe = UnCLIP(tiny_cascade, device="cpu")  # the default content policy is on
    report = evaluate(pipe, tmp_path, per_split=10, size=64, save_dir=tmp_path / "gen", **FAST)
    assert report.seen.prompts == 4 and report.seen.refused == 1
    assert (
        report.seen.top5 == 0.75
    )  # 4 captions: every generated image has its own in the top 5; the refused one is a miss
    assert len(list((tmp_path / "gen").glob("*.png"))) == 3
    assert "1 refused by the content policy" in report.summary()


def write_dataset(root, metadata: bytes) -> None:
    (root / "images").mkdir()
    Image.new("RGB", (16, 16), "red").save(root / "images" / "0.png")
    (root / "metadata.jsonl").write_bytes(metadata)


def test_bad_counts_are_input_errors_naming_the_argument(tiny_cascade, tmp_path):
    import pytest

    from unclip.errors import InputError

    write_dataset(tmp_path, json.dumps({"file": "images/0.png", "caption": "a red apple"}).encode())
    pipe = UnCLIP(tiny_cascade, device="cpu")
    for name, value in (
        ("batch", 0),
        ("batch", -1),
        ("per_split", 0),
        ("max_real_per_concept", 0),
        ("batch", 1.5),
    ):
        with pytest.raises(InputError, match=f"{name}: must be a whole number of at least 1"):
            evaluate(pipe, tmp_path, size=64, **{name: value}, **FAST)


def test_metadata_that_is_not_utf8_is_an_input_error_naming_file_and_line(
    tiny_cascade, tiny_model_dir, tmp_path, capsys
):
    import pytest

    from unclip.cli.main import main
    from unclip.errors import InputError

    good = json.dumps({"file": "images/0.png", "caption": "a red apple"}).encode()
    write_dataset(tmp_path, good + b"\n" + good.replace(b"apple", b"caf\xe9"))
    meta = tmp_path / "metadata.jsonl"
    with pytest.raises(InputError, match="metadata.jsonl: line 2 is not UTF-8 text \\(byte 0xe9\\)"):
        evaluate(UnCLIP(tiny_cascade, device="cpu"), tmp_path, size=64, **FAST)
    assert main(["eval", "--data", str(tmp_path), "--model", str(tiny_model_dir), "--prompts", "1"]) == 2
    err = capsys.readouterr().err
    assert f"{meta}: line 2 is not UTF-8 text" in err and "Traceback" not in err


def test_a_broken_real_image_fails_before_any_generation(tiny_cascade, tmp_path):
    """The real images are read first: a truncated one is an InputError naming it, and no time is
    spent generating for a run that cannot finish."""
    import pytest

    from unclip.errors import InputError

    write_dataset(tmp_path, json.dumps({"file": "images/0.png", "caption": "a red apple"}).encode())
    (tmp_path / "images" / "0.png").write_bytes((tmp_path / "images" / "0.png").read_bytes()[:40])
    pipe = UnCLIP(tiny_cascade, device="cpu")
    calls = []
    handle = pipe.cascade.prior.register_forward_pre_hook(lambda *a: calls.append(1))
    try:
        with pytest.raises(InputError, match=r"0\.png: cannot read this real image"):
            evaluate(pipe, tmp_path, size=64, **FAST)
    finally:
        handle.remove()
    assert calls == []

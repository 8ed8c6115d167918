import json

import pytest
import torch
from PIL import Image

from unclip.errors import InputError
from unclip.evaluation import frechet_distance, retrieval_accuracy
from unclip.evaluation.prompts import load_concepts


def test_retrieval_accuracy_ranks_own_caption():
    text = torch.eye(6)
    images = torch.eye(6) + 0.01
    images[0] = text[3] * 2 + text[0]  # image 0 is closer to caption 3 than to its own
    acc = retrieval_accuracy(images, text, torch.arange(6), ks=(1, 2))
    assert acc[1] == pytest.approx(5 / 6)
    assert acc[2] == pytest.approx(1.0)


def test_frechet_distance_zero_for_same_set_and_grows_with_shift():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(500, 8, generator=g)
    b = torch.randn(500, 8, generator=g)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    near = frechet_distance(a, b)
    far = frechet_distance(a, b + 1.0)
    wide = frechet_distance(a, b * 2)
    assert near < 0.2 < far and far == pytest.approx(8.0 + near, rel=0.1)
    assert wide > 1.0  # a different covariance also counts


def test_concepts_are_split_and_stable(tmp_path):
    (tmp_path / "images").mkdir()
    rows = []
    for i, (concept, split) in enumerate(
        [("apple", "train"), ("apple", "train"), ("car", "train"), ("owl", "holdout")]
    ):
        Image.new("RGB", (8, 8)).save(tmp_path / "images" / f"{i}.png")
        rows.append({"file": f"images/{i}.png", "caption": concept, "concept": concept, "split": split})
    (tmp_path / "metadata.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    concepts = load_concepts(tmp_path, per_split=10)
    assert sorted((c.caption, c.split, len(c.images)) for c in concepts) == [
        ("apple", "train", 2),
        ("car", "train", 1),
        ("owl", "holdout", 1),
    ]
    assert [c.caption for c in concepts] == [c.caption for c in load_concepts(tmp_path, per_split=10)]
    with pytest.raises(InputError, match="metadata.jsonl"):
        load_concepts(tmp_path / "images", per_split=1)

"""docs/TRAINING.md documents every config field, generated from the config classes."""

from pathlib import Path

from unclip.training.docs import render_reference


def test_training_doc_has_the_current_field_reference():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "TRAINING.md").read_text()
    reference = render_reference()
    assert reference in doc, "regenerate the reference: python -m unclip.training.docs"
    undocumented = [line for line in reference.splitlines() if line.endswith("|  |")]
    assert not undocumented, undocumented

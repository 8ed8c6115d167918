import pytest
import torch

# One torch thread per test process: the tests use small tensors, where a second thread costs more in
# synchronisation than it gains, and CLI/server tests run further processes beside this one.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_tokenizer():
    from unclip.cascade.presets import SAMPLE_CAPTIONS
    from unclip.models.tokenizer import train_tokenizer

    return train_tokenizer(SAMPLE_CAPTIONS, vocab_size=1024, min_frequency=1)


@pytest.fixture(scope="session")
def tiny_cascade(tiny_tokenizer):
    from unclip.cascade.presets import build_cascade

    return build_cascade("tiny", tokenizer=tiny_tokenizer, inpainting=True)


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_cascade, tmp_path_factory):
    from unclip.cascade.model_dir import save_cascade

    path = tmp_path_factory.mktemp("models") / "tiny"
    save_cascade(tiny_cascade, path)
    return path


@pytest.fixture(scope="session", autouse=True)
def _provenance_keys_in_a_temporary_folder(tmp_path_factory):
    """The CLI and `UnCLIP.save` generate a C2PA signing key on first use in $UNCLIP_CACHE/provenance:
    keep the tests' one out of the user's ~/.cache (subprocesses inherit the variable)."""
    import os

    old = os.environ.get("UNCLIP_CACHE")
    os.environ["UNCLIP_CACHE"] = str(tmp_path_factory.mktemp("unclip-cache"))
    yield
    if old is None:
        os.environ.pop("UNCLIP_CACHE", None)
    else:
        os.environ["UNCLIP_CACHE"] = old

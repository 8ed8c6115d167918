"""The loader builds networks on the meta device and assigns the saved weights: every parameter and
buffer must equal what building the network for real, copying the weights in and converting gives."""

from __future__ import annotations

import pytest
import torch

from unclip.cascade.container import COMPONENTS
from unclip.cascade.loading import default_model_path
from unclip.cascade.model_dir import _load_weights, load_cascade, read_index


@pytest.mark.parametrize("dtype", [None, torch.bfloat16])
def test_loaded_networks_equal_built_and_copied(dtype: torch.dtype | None) -> None:
    directory = default_model_path()
    index = read_index(directory)
    cascade = load_cascade(directory, dtype=dtype, components=[])
    for name, module in cascade.modules.items():
        entry = index.components[name]
        config_cls, module_cls = COMPONENTS[name]
        reference = module_cls(config_cls.load(directory / entry.config))
        reference.load_state_dict(_load_weights(directory / entry.weights, entry, verify=False))
        reference.to(dtype=dtype)
        got = dict([*module.named_parameters(), *module.named_buffers()])
        want = dict([*reference.named_parameters(), *reference.named_buffers()])
        assert got.keys() == want.keys(), name
        for key, tensor in want.items():
            assert not got[key].is_meta, (name, key)
            assert got[key].dtype == tensor.dtype, (name, key)
            assert got[key].shape == tensor.shape, (name, key)
            assert torch.equal(got[key], tensor), (name, key)
        assert all(isinstance(p, torch.nn.Parameter) and not p.requires_grad for p in module.parameters())

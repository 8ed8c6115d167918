from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """These tests run many small elementwise ops; on a loaded machine with few cores, torch's
    intra-op threads spend far longer synchronising than computing (100x slower was measured)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)

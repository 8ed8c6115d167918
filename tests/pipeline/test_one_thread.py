"""`one_thread()` sets torch's intra-op threads to 1 inside the block and restores them after."""

from __future__ import annotations

import pytest
import torch

from unclip.utils.threads import one_thread


def test_one_thread_inside_and_restored_after_even_on_error() -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with one_thread():
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with pytest.raises(ValueError), one_thread():
            raise ValueError("boom")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)

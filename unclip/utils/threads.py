"""Run a stretch of many small tensor operations on one torch thread.

Each torch operation above a small size opens a parallel region across the intra-op threads; on a busy
machine the other threads wait for a time slice at every one, so converting ~2,000 small weight tensors
took 0.6-2 s on 2 threads and 0.03 s on one (2-core CPU, load average 6). Results are the same: copies
and conversions are element by element.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def one_thread() -> Iterator[None]:
    """torch's intra-op threads set to 1 inside the block, restored after (process-wide while it runs)."""
    before = torch.get_num_threads()
    if before == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)

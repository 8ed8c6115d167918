"""Deterministic global batches: the same samples, in the same order, on any number of processes.

The data is an endless stream of record numbers: epoch e is a permutation of all records seeded by
(seed, e). Optimizer step s consumes stream positions [s*G, (s+1)*G) (G = the global batch). With A
gradient-accumulation micro-steps, W processes and micro-batch b (G = A*W*b), micro-step m of process
r takes positions s*G + (m*W + r)*b ... + b. A stream position is also the *sample number* that seeds
every random choice made for that sample (timestep, noise, dropout, crop, mask), so a run gives the
same updates however its global batch is split, and resuming at step s needs nothing but s.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

_MASK = (1 << 64) - 1


def mix_seed(*values: int) -> int:
    """A 63-bit seed from integers (splitmix64 finaliser over each value): nearby inputs give
    unrelated seeds."""
    h = 0x9E3779B97F4A7C15
    for v in values:
        h = (h ^ (v & _MASK)) & _MASK
        h = (h + 0x9E3779B97F4A7C15) & _MASK
        h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & _MASK
        h ^= h >> 31
    return h & ((1 << 63) - 1)


def sample_generator(seed: int, sample_number: int) -> torch.Generator:
    """The CPU generator for every random draw made for one sample."""
    return torch.Generator().manual_seed(mix_seed(seed, sample_number, 0x5A))


@dataclass(frozen=True)
class BatchPlan:
    num_records: int
    seed: int
    global_batch: int
    micro_batch: int
    world_size: int = 1
    rank: int = 0

    def __post_init__(self) -> None:
        if self.global_batch % (self.micro_batch * self.world_size):
            raise ValueError(
                f"global batch {self.global_batch} is not a multiple of micro batch {self.micro_batch} "
                f"x {self.world_size} processes"
            )

    @property
    def accumulation(self) -> int:
        return self.global_batch // (self.micro_batch * self.world_size)

    def permutation(self, epoch: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(mix_seed(self.seed, epoch, 0xE9))
        return torch.randperm(self.num_records, generator=g)

    def positions(self, step: int, micro: int) -> range:
        start = step * self.global_batch + (micro * self.world_size + self.rank) * self.micro_batch
        return range(start, start + self.micro_batch)

    def micro_batches(self, start_step: int = 0) -> Iterator[list[tuple[int, int]]]:
        """Endless (record number, sample number) lists, one per micro-step of this process."""
        epoch, perm = -1, torch.empty(0, dtype=torch.long)
        step = start_step
        while True:
            for micro in range(self.accumulation):
                batch = []
                for pos in self.positions(step, micro):
                    e = pos // self.num_records
                    if e != epoch:
                        epoch, perm = e, self.permutation(e)
                    batch.append((int(perm[pos % self.num_records]), pos))
                yield batch
            step += 1

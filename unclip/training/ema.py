"""Exponential moving average of the weights (kept in fp32, by parameter name).

Under FSDP each process keeps the EMA of its own shards (1/P of the memory): the average is
element-wise, so the EMA of the shards is the shard of the EMA. `tensors` gathers the full weights
for a checkpoint and `load` cuts a checkpoint's full weights back into this process's shards.
"""

from __future__ import annotations

import torch
from torch import nn

from unclip.training.sharding import canonical, gather, local, shard_like


class EMA:
    """EMA of a module's floating-point parameters; buffers (e.g. the prior's normalisation statistics)
    are copied as they are. The decay warms up as min(decay, (1 + n) / (10 + n)) over the first updates,
    so early weights do not linger for 1 / (1 - decay) steps."""

    def __init__(self, module: nn.Module, decay: float):
        self.decay = decay
        self.updates = 0
        # Sharded parameters give sharded copies (same layout); names as state dicts write them.
        self.shadow = {canonical(name): p.detach().float().clone() for name, p in module.named_parameters()}

    def current_decay(self) -> float:
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, module: nn.Module) -> None:
        d = self.current_decay()
        self.updates += 1
        for name, p in module.named_parameters():
            s = local(self.shadow[canonical(name)])
            s.lerp_(local(p.detach()).to(s.device, torch.float32), 1.0 - d)

    def state_dict(self, module: nn.Module) -> dict[str, torch.Tensor]:
        """A full state dict of an unsharded `module` with the EMA parameters in place of the live ones."""
        state = {k: v.detach().cpu() for k, v in module.state_dict().items()}
        for name, s in self.shadow.items():
            state[name] = s.to(state[name].dtype).cpu()
        return state

    def tensors(self, keep: bool = True) -> dict[str, torch.Tensor]:
        """The full EMA weights on the CPU. Sharded: every process must call this; `keep` ones get them."""
        return gather(self.shadow.items(), keep)

    def load(self, tensors: dict[str, torch.Tensor], updates: int) -> None:
        missing = set(self.shadow) - set(tensors)
        if missing:
            raise KeyError(f"EMA state lacks {sorted(missing)[:3]}")
        for k, s in self.shadow.items():
            local(s).copy_(local(shard_like(tensors[k], s)))
        self.updates = updates

    @torch.no_grad()
    def swap_into(self, module: nn.Module) -> dict[str, torch.Tensor]:
        """Put the EMA weights into an unsharded `module`; returns the live weights for :meth:`restore`."""
        live = {}
        for name, p in module.named_parameters():
            live[name] = p.detach().clone()
            p.copy_(self.shadow[name].to(p.dtype))
        return live

    @staticmethod
    @torch.no_grad()
    def restore(module: nn.Module, live: dict[str, torch.Tensor]) -> None:
        for name, p in module.named_parameters():
            p.copy_(live[name])

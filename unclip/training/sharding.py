"""FSDP for `unclip train`: torch's FSDP2 (`fully_shard`), configured by accelerate's launcher.

`accelerate launch --use_fsdp --fsdp_version 2 ...` (or an accelerate config with `distributed_type:
FSDP` and `fsdp_version: 2`) makes the trainer shard the trained network over all processes: every
process holds 1/P of the parameters, gradients, AdamW state and EMA weights. What the launcher's
FSDP options mean here:

- auto-wrap policy: `NO_WRAP` (accelerate's default) shards the network as one unit (its parameters
  are gathered whole for each forward and backward); `TRANSFORMER_BASED_WRAP` makes every block of
  the stage its own unit (`Stage.fsdp_blocks`, or `--fsdp_transformer_layer_cls_to_wrap`), so only
  one block's parameters are gathered at a time; `SIZE_BASED_WRAP` wraps those blocks holding more
  than `--fsdp_min_num_params` parameters.
- `--fsdp_reshard_after_forward` and `--fsdp_activation_checkpointing` (of the block units) are
  honoured; `--fsdp_offload_params` is refused. `train.mixed_precision = "bf16"` gathers parameters
  in bf16 and runs the forward under autocast (as without FSDP); gradients are reduced in fp32 and
  the sharded weights, AdamW state and EMA stay fp32.
- the state-dict type is ignored: checkpoints always hold full (gathered) state dicts, exactly as
  without FSDP, so a run can resume under DDP, FSDP or one process alike.

The module itself is sharded here rather than by `accelerator.prepare`: FSDP2 cannot shard
scalar (0-dim) parameters such as CLIP's `logit_scale`, so those stay replicated (their gradients
are averaged by :func:`sync_replicated_grads`), and accelerate only turns FSDP on for GPUs while
this works on CPUs (gloo) as well.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist
from torch import nn

from unclip.utils.config import ConfigError

if TYPE_CHECKING:
    from accelerate.utils import FullyShardedDataParallelPlugin


# checkpoint_wrapper (activation checkpointing) inserts this into parameter names; state dicts omit it.
_AC_PREFIX = "_checkpoint_wrapped_module."


def _env_true(name: str) -> bool:
    return os.environ.get(name, "false").lower() in ("1", "true", "yes")


def fsdp_plugin(mixed_precision: str) -> FullyShardedDataParallelPlugin | None:
    """accelerate's FSDP settings when the run was launched with FSDP, else None. Refuses what the
    trainer cannot do (DeepSpeed, FSDP1, fp16 loss scaling with sharded gradients) with a message
    naming it."""
    if _env_true("ACCELERATE_USE_DEEPSPEED"):
        raise ConfigError(
            "DeepSpeed is not supported by `unclip train`: launch with DDP (`accelerate launch --multi_gpu`) "
            "or FSDP (`accelerate launch --use_fsdp --fsdp_version 2`); see docs/TRAINING.md"
        )
    if not _env_true("ACCELERATE_USE_FSDP"):
        return None
    version = os.environ.get("FSDP_VERSION", "1")
    if version != "2":
        raise ConfigError(
            f"FSDP version {version} is not supported by `unclip train`: it shards with FSDP2. Pass "
            "`--fsdp_version 2` to `accelerate launch` (or set `fsdp_version: 2` under `fsdp_config` "
            "in the accelerate config)"
        )
    if mixed_precision == "fp16":
        raise ConfigError(
            'train.mixed_precision = "fp16" is not supported with FSDP (its loss scaler would need the inf/NaN '
            'checks of every gradient shard synchronised across processes): use "bf16" or "no"'
        )
    from accelerate.utils import FullyShardedDataParallelPlugin
    from torch.distributed.fsdp import CPUOffloadPolicy

    plugin = FullyShardedDataParallelPlugin(fsdp_version=2)
    if isinstance(plugin.cpu_offload, CPUOffloadPolicy):
        raise ConfigError(
            "fsdp_offload_params is not supported by `unclip train` (the optimizer step, EMA and checkpoint "
            "gathering would run on CPU copies; untested): drop --fsdp_offload_params / set it false"
        )
    return plugin


# ---------------------------------------------------------------------------- sharding the module
def _block_policy(plugin: FullyShardedDataParallelPlugin, blocks: tuple[str, ...], module: nn.Module) -> Any:
    """Which submodules become their own FSDP unit (a predicate), or None for the whole network as one."""
    from torch.distributed.fsdp.wrap import size_based_auto_wrap_policy, transformer_auto_wrap_policy

    policy = getattr(plugin.auto_wrap_policy, "func", plugin.auto_wrap_policy)
    if policy is None:
        return None
    names = tuple(plugin.transformer_cls_names_to_wrap or blocks)
    present = {type(m).__name__ for m in module.modules()}
    missing = [n for n in names if n not in present]
    if missing:
        raise ConfigError(
            f"fsdp_transformer_layer_cls_to_wrap: no {', '.join(missing)} in this network; its blocks are "
            f"{', '.join(blocks)} (classes here: {', '.join(sorted(present))})"
        )
    if policy is transformer_auto_wrap_policy:
        return lambda m: type(m).__name__ in names
    if policy is size_based_auto_wrap_policy:
        least = plugin.min_num_params or 0
        return lambda m: type(m).__name__ in names and sum(p.numel() for p in m.parameters()) > least
    raise ConfigError(
        f"FSDP auto-wrap policy {plugin.auto_wrap_policy!r} is not supported: "
        "use NO_WRAP, TRANSFORMER_BASED_WRAP or SIZE_BASED_WRAP"
    )


def shard(
    module: nn.Module,
    plugin: FullyShardedDataParallelPlugin,
    blocks: tuple[str, ...],
    mixed_precision: str,
    device: torch.device,
) -> tuple[list[nn.Parameter], int]:
    """Shard `module` (the stage's training wrapper; its `.net` is the network) in place with FSDP2.
    Returns the replicated parameters (scalars FSDP2 cannot shard) and the number of FSDP units."""
    from torch.distributed.fsdp import FSDPModule, MixedPrecisionPolicy, fully_shard

    half = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(mixed_precision)
    mp = (
        MixedPrecisionPolicy(param_dtype=half, reduce_dtype=torch.float32) if half else MixedPrecisionPolicy()
    )
    kwargs: dict[str, Any] = {"reshard_after_forward": bool(plugin.reshard_after_forward), "mp_policy": mp}
    replicated = [p for p in module.parameters() if p.dim() == 0]
    for p in replicated:  # fully_shard moves what it shards to the device; these it leaves alone
        p.data = p.data.to(device)

    policy = _block_policy(plugin, blocks, module)
    # The network itself is never a unit of its own: the stages call its methods (e.g. the decoder's null
    # embedding) from the wrapper's forward, where only the root unit's parameters are gathered.
    inner = [m for m in module.modules() if m is not module and m is not module.net]
    units = [m for m in inner if policy(m)] if policy is not None else []
    if plugin.activation_checkpointing:
        from torch.distributed.algorithms._checkpoint.checkpoint_wrapper import checkpoint_wrapper

        if not units:
            raise ConfigError(
                "fsdp_activation_checkpointing needs units to checkpoint: "
                "use --fsdp_auto_wrap_policy TRANSFORMER_BASED_WRAP"
            )
        names = {id(m): n for n, m in module.named_modules()}
        wrapped = []
        for m in units:
            wrapped.append(checkpoint_wrapper(m))
            module.set_submodule(names[id(m)], wrapped[-1])
        units = wrapped
    for m in reversed(units):  # innermost first
        if not isinstance(m, FSDPModule):
            fully_shard(m, **kwargs)
    fully_shard(module, ignored_params=set(replicated) or None, **kwargs)
    return replicated, len(units) + 1


def sync_replicated_grads(params: list[nn.Parameter], world: int) -> None:
    """Average the gradients of the parameters FSDP left replicated (FSDP averages the sharded ones)."""
    for p in params:
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad.div_(world)


def autocast_forward(module: nn.Module, autocast: Any) -> None:
    """Run `module`'s forward under `autocast()` with fp32 outputs, as accelerate does for DDP."""
    from accelerate.utils import convert_outputs_to_fp32

    forward = module.forward

    def run(*args: Any, **kwargs: Any) -> Any:
        with autocast():
            return forward(*args, **kwargs)

    module.forward = convert_outputs_to_fp32(run)  # type: ignore[method-assign]


# ---------------------------------------------------------------------------- sharded <-> full tensors
def is_sharded(t: torch.Tensor) -> bool:
    from torch.distributed.tensor import DTensor

    return isinstance(t, DTensor)


def local(t: torch.Tensor) -> torch.Tensor:
    """This process's part of a sharded tensor (a view: writing it writes the shard); others as they are."""
    return t.to_local() if is_sharded(t) else t  # type: ignore[attr-defined]


def full(t: torch.Tensor) -> torch.Tensor:
    """The whole tensor. Sharded: gathered from all processes (every process must call it, in the same order)."""
    return t.full_tensor() if is_sharded(t) else t  # type: ignore[attr-defined]


def shard_like(whole: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """`whole` split the way `like` is (every process cuts its own part: no communication)."""
    if not is_sharded(like):
        return whole.to(like.device)
    from torch.distributed.tensor import distribute_tensor

    mesh, placements = like.device_mesh, like.placements  # type: ignore[attr-defined]
    return distribute_tensor(whole.to(like.device), mesh, placements, src_data_rank=None)


def canonical(name: str) -> str:
    """A parameter name as state dicts write it (without activation checkpointing's wrapper)."""
    return name.replace(_AC_PREFIX, "")


def gather(named: Iterable[tuple[str, torch.Tensor]], keep: bool) -> dict[str, torch.Tensor]:
    """Full CPU tensors by name, for the process that writes (`keep`); the others only help gather."""
    out = {}
    for name, t in named:
        whole = full(t)
        if keep:
            out[canonical(name)] = whole.detach().cpu()
    return out


def gather_optimizer(state: dict[str, Any], keep: bool) -> dict[str, Any]:
    """A torch optimizer state dict with every sharded state tensor gathered (same format as unsharded)."""
    per_param: dict[int, dict[str, Any]] = {}
    for pid in sorted(state["state"]):
        values = state["state"][pid]
        tensors = gather(((n, v) for n, v in sorted(values.items()) if isinstance(v, torch.Tensor)), keep)
        if keep:
            per_param[pid] = {n: tensors.get(n, v) for n, v in values.items()}
    return {"state": per_param, "param_groups": state["param_groups"]}


def shard_optimizer(state: dict[str, Any], optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """A full optimizer state dict (from a checkpoint) cut to fit `optimizer`'s sharded parameters."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for pid, values in state["state"].items():
        p = params[pid]
        for name, v in values.items():
            if isinstance(v, torch.Tensor) and is_sharded(p) and v.shape == p.shape:
                values[name] = shard_like(v, p)
    return state


# ---------------------------------------------------------------------------- sampling
class UnshardedTwin:
    """An unsharded copy of the network for the main process's sample grids: its storage exists only
    while sampling, filled with the gathered EMA weights (sampling calls the network's methods freely,
    which a sharded network cannot serve on one process)."""

    def __init__(self, net: nn.Module, keep: bool):
        self.template = copy.deepcopy(net).to("meta") if keep else None

    def fill(self, net: nn.Module, shadow: dict[str, torch.Tensor], device: torch.device) -> nn.Module | None:
        """Every process must call this (the EMA weights `shadow` are gathered); the main process gets the copy."""
        twin = self.template.to_empty(device=device) if self.template is not None else None
        with torch.no_grad():
            for name, s in shadow.items():
                whole = full(s)
                if twin is not None:
                    twin.get_parameter(name).copy_(whole)
            if twin is not None:
                for name, b in net.named_buffers():
                    twin.get_buffer(canonical(name)).copy_(b)
                twin.eval()
        return twin

    def release(self) -> None:
        if self.template is not None:
            self.template = self.template.to("meta")

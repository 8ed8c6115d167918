"""The training loop every stage shares, on top of accelerate.

One process (CPU, one GPU) or many (`accelerate launch`: DDP on one or several machines, or FSDP2
with `--use_fsdp --fsdp_version 2`, see :mod:`unclip.training.sharding`) run the same code. Each
optimizer step consumes one global batch of `train.batch_size` samples, split into micro-batches
over processes and accumulation steps (see :mod:`unclip.data.sampler`); the loss of a micro-batch is
summed over its valid samples and divided by the global batch share, so the gradient is the mean
over the global batch whatever the split. Mixed precision comes from accelerate
(autocast, fp16 loss scaling), then gradient clipping, AdamW with warm-up, EMA (main process; under
FSDP every process keeps the EMA of its shards), metrics, sample grids and atomic checkpoints (full
state dicts, gathered under FSDP).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from unclip.data.config import open_source
from unclip.data.sampler import BatchPlan
from unclip.training.checkpoint import (
    CheckpointState,
    flatten_optimizer,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    numpy_rng_json,
    python_rng_json,
    restore_rng,
    save_checkpoint,
    unflatten_optimizer,
)
from unclip.training.config import TrainConfig
from unclip.training.ema import EMA
from unclip.training.examples import ExampleDataset, collate, to_device, worker_init
from unclip.training.monitor import Monitor
from unclip.training.optim import make_optimizer, set_lr
from unclip.training.runs import RunDir, RunError
from unclip.training.sharding import (
    UnshardedTwin,
    autocast_forward,
    fsdp_plugin,
    gather,
    gather_optimizer,
    shard,
    shard_optimizer,
    sync_replicated_grads,
)
from unclip.training.signals import StopFlag
from unclip.training.stages import stage_class
from unclip.utils.config import ConfigError

# Settings that may change when a run is resumed: bookkeeping, and the loss weighting (a curriculum).
RESUMABLE_CHANGES = {
    "train.steps",
    "train.max_minutes",
    "decoder.min_snr_gamma",  # loss weighting: a curriculum may change it mid-run
    "upsampler.min_snr_gamma",
    "train.micro_batch_size",
    "train.checkpoint_every",
    "train.keep_checkpoints",
    "train.log_every",
    "train.sample_every",
    "train.num_samples",
    "train.sample_steps",
    "train.sample_guidance",
    "train.tensorboard",
    "train.progress",
    "train.threads",
    "data.num_workers",
    "data.index_cache",
}


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    stopped_by: str | None = None  # "SIGTERM" / "SIGINT" when a signal ended the run early, "max_minutes" when the time limit did
    last_metrics: dict[str, float] = dataclasses.field(default_factory=dict)


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def check_resume_config(run: RunDir, cfg: TrainConfig) -> None:
    saved = _flatten(run.read_json("config.json"))
    now = _flatten(json.loads(json.dumps(cfg.to_dict())))
    changed = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k) and k not in RESUMABLE_CHANGES)
    if changed:
        detail = "; ".join(f"{k}: {saved.get(k)!r} -> {now.get(k)!r}" for k in changed[:5])
        raise ConfigError(
            f"{run.path}: cannot resume with a different config ({detail}). Only these may change: "
            f"{', '.join(sorted(RESUMABLE_CHANGES))}"
        )


def cpu_distributed() -> bool:
    """True for several processes without GPUs (torchrun / `accelerate launch --multi_gpu` on CPUs):
    accelerate only sets up its gloo (MULTI_CPU) backend when told to run on the CPU."""
    return not torch.cuda.is_available() and int(os.environ.get("WORLD_SIZE", "1")) > 1


def resolve_batch(cfg: TrainConfig, world: int) -> int:
    t = cfg.train
    micro = t.micro_batch_size or t.batch_size // world
    if micro < 1 or t.batch_size % (micro * world):
        raise ConfigError(
            f"train.batch_size {t.batch_size} must be a multiple of micro_batch_size {micro} x {world} processes"
        )
    return micro


def train(cfg: TrainConfig, resume: bool = False) -> TrainResult:
    """Train `cfg`'s stage; with `resume`, continue from the run folder's newest checkpoint (if any)."""
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs, gather_object

    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    stage_cls = stage_class(cfg.stage_name)
    find_unused = cfg.stage_name == "upsampler" and cfg.stage.model.separate_last_step
    plugin = fsdp_plugin(cfg.train.mixed_precision)  # None unless launched with --use_fsdp
    accelerator = Accelerator(
        cpu=cpu_distributed(),
        mixed_precision=cfg.train.mixed_precision,
        fsdp_plugin=plugin,
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=find_unused)],
    )
    main, world, rank, device = accelerator.is_main_process, accelerator.num_processes, accelerator.process_index, accelerator.device
    sharded = plugin is not None and dist.is_available() and dist.is_initialized()
    micro = resolve_batch(cfg, world)
    total = cfg.train.steps

    # ---------------------------------------------------------------- run folder
    run = RunDir(Path(cfg.run_dir))
    ckpt_dir = latest_checkpoint(run.checkpoints) if resume else None
    if not resume and list_checkpoints(run.checkpoints):
        raise RunError(f"{run.path} already holds checkpoints: pass --resume to continue, or choose another run_dir")
    if ckpt_dir is not None:
        check_resume_config(run, cfg)
    if main:
        run.path.mkdir(parents=True, exist_ok=True)
        run.write_json("config.json", cfg.to_dict())
    accelerator.wait_for_everyone()
    monitor = Monitor(run.path, main)

    # ---------------------------------------------------------------- data and stage
    with accelerator.main_process_first():
        source = open_source(cfg.data)
    monitor.log(f"data: {source.describe()}")
    stage = stage_cls(cfg, run, device, main)
    stage.setup(source, accelerator.wait_for_everyone)
    if main:
        run.write_json("run.json", stage.run_info())
        attribution = source.attribution()
        if attribution:
            (run.path / "ATTRIBUTION.md").write_text(attribution)

    torch.manual_seed(cfg.train.seed)
    module = stage.build()
    net = module.net
    for note in getattr(stage, "init_notes", []):
        monitor.log(f"init_from: {note}")
    start = 0
    ckpt = None
    if ckpt_dir is not None:
        ckpt = load_checkpoint(ckpt_dir)
        if ckpt.state.data_fingerprint != source.fingerprint():
            raise ConfigError(f"{ckpt_dir}: the dataset's records changed since this checkpoint; cannot resume exactly")
        net.load_state_dict(ckpt.model)
        start = ckpt.state.step
        monitor.log(f"resuming from {ckpt_dir} (step {start})")
    replicated: list[torch.nn.Parameter] = []
    twin = None
    if sharded:
        assert plugin is not None
        twin = UnshardedTwin(net, keep=main and cfg.train.sample_every > 0)
        replicated, units = shard(module, plugin, stage.fsdp_blocks, cfg.train.mixed_precision, device)
        if cfg.train.mixed_precision != "no":
            autocast_forward(module, accelerator.autocast)
        optimizer = make_optimizer(module, cfg.optim)
        monitor.log(
            f"FSDP: {units} unit(s) sharded over {world} processes; {len(replicated)} scalar parameter(s) replicated"
        )
    else:
        optimizer = make_optimizer(module, cfg.optim)
        module, optimizer = accelerator.prepare(module, optimizer)
    ema = EMA(net, cfg.train.ema_decay) if main or sharded else None
    if ckpt is not None:
        state = unflatten_optimizer(ckpt.optimizer, ckpt.state.param_groups, ckpt.state.optimizer_scalars)
        optimizer.load_state_dict(shard_optimizer(state, optimizer) if sharded else state)
        if accelerator.scaler is not None and ckpt.state.scaler:
            accelerator.scaler.load_state_dict(ckpt.state.scaler)
        if ema is not None:
            if ckpt.ema is None:
                raise RunError(f"{ckpt_dir}: no EMA weights")
            ema.load(ckpt.ema, ckpt.state.ema_updates)
        restore_rng(ckpt.rng, ckpt.state)

    plan = BatchPlan(len(source), cfg.train.seed, cfg.train.batch_size, micro, world, rank)
    dataset = ExampleDataset(source, stage.maker(), cfg.train.seed, stage.min_image_size(), stage.store)
    workers = cfg.data.num_workers
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_sampler=plan.micro_batches(start),  # type: ignore[arg-type]
        num_workers=workers,
        collate_fn=collate,
        worker_init_fn=worker_init if workers else None,
        pin_memory=device.type == "cuda",
        prefetch_factor=4 if workers else None,
    )
    params = sum(p.numel() for p in net.parameters())
    monitor.log(
        f"{cfg.stage_name}: {params / 1e6:.2f}M parameters; {world} process(es) x micro-batch {micro} x "
        f"{plan.accumulation} accumulation = batch {cfg.train.batch_size}; steps {start} -> {total} on {device}"
    )
    monitor.start(total, start, cfg.train.progress, cfg.train.tensorboard)

    # ---------------------------------------------------------------- helpers
    names = ("loss", *stage.metric_names)
    sums = torch.zeros(len(names) + 1, device=device, dtype=torch.float64)  # + valid count
    seen_bad: set[tuple[str, int]] = set()
    bad_counts: dict[str, int] = {}
    bad_examples: dict[str, str] = {}
    new_skips: list[tuple[str, int, str]] = []
    pending: dict[str, float] = {}
    stop = StopFlag().install()

    def save(step: int) -> None:
        if not (main or sharded):
            accelerator.wait_for_everyone()
            return
        # Full state dicts on the CPU. Under FSDP every process gathers its shards; the main process writes.
        model_state = gather(net.state_dict().items(), main)
        ema_state = ema.tensors(main) if ema else None
        optimizer_state = gather_optimizer(optimizer.state_dict(), main)
        if main:
            tensors, groups, scalars = flatten_optimizer(optimizer_state)
            state = CheckpointState(
                step=step,
                ema_updates=ema.updates if ema else 0,
                data_fingerprint=source.fingerprint(),
                param_groups=groups,
                optimizer_scalars=scalars,
                scaler=accelerator.scaler.state_dict() if accelerator.scaler is not None else None,
                python_rng=python_rng_json(),
                numpy_rng=numpy_rng_json(),
                extra={"world_size": world, "micro_batch": micro},
            )
            path = save_checkpoint(run.checkpoints, state, model_state, ema_state, tensors, cfg.train.keep_checkpoints)
            monitor.log(f"checkpoint: {path}")
        accelerator.wait_for_everyone()

    deadline = time.time() + cfg.train.max_minutes * 60 if cfg.train.max_minutes > 0 else None

    def out_of_time() -> bool:
        return deadline is not None and time.time() >= deadline

    def stop_requested() -> bool:
        # Every process must agree to stop on the same step (their clocks and signals differ).
        flag = stop.requested or out_of_time()
        if world > 1 and dist.is_initialized():
            t = torch.tensor([1.0 if flag else 0.0], device=device)
            dist.all_reduce(t, op=dist.ReduceOp.MAX)
            flag = bool(t.item() > 0)
        return flag

    # ---------------------------------------------------------------- loop
    step = start
    last_metrics: dict[str, float] = {}
    t_log, steps_since = time.time(), 0
    data = iter(loader)
    module.train()
    try:
        while step < total:
            lr = set_lr(optimizer, step, cfg.optim, total)
            for m in range(plan.accumulation):
                batch = next(data)
                new_skips.extend(batch.pop("skip"))
                batch = to_device(batch, device)
                # FSDP reduce-scatters every micro-step (skipping it would hold whole unsharded gradients).
                last = m == plan.accumulation - 1
                sync = contextlib.nullcontext() if last or sharded else accelerator.no_sync(module)
                with sync:
                    per_sample, metrics = stage.loss(module, batch)
                    valid = batch["valid"].to(per_sample.dtype)
                    loss = (per_sample * valid).sum() / (micro * plan.accumulation)
                    accelerator.backward(loss)
                with torch.no_grad():
                    parts = [(per_sample * valid).sum()] + [(metrics[n].float() * valid).sum() for n in stage.metric_names]
                    sums += torch.stack([*[p.double() for p in parts], valid.sum().double()])
            sync_replicated_grads(replicated, world)
            grad_norm = None
            if cfg.optim.grad_clip > 0:
                grad_norm = accelerator.clip_grad_norm_(module.parameters(), cfg.optim.grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if ema is not None:
                ema.update(net)
            step += 1
            steps_since += 1

            if cfg.train.sample_every and step % cfg.train.sample_every == 0:
                # FSDP: the gathered EMA weights, in an unsharded copy on the main process
                if twin is not None:
                    assert ema is not None
                    unsharded = twin.fill(net, ema.shadow, device)
                    if unsharded is not None:
                        try:
                            pending.update(stage.sample(unsharded, step))
                        finally:
                            twin.release()
                elif main:
                    live = ema.swap_into(net)  # type: ignore[union-attr]
                    net.eval()
                    try:
                        pending.update(stage.sample(net, step))
                    finally:
                        EMA.restore(net, live)
                        net.train()
                accelerator.wait_for_everyone()

            if step % cfg.train.log_every == 0 or step == total:
                totals = accelerator.reduce(sums.clone(), "sum") if world > 1 else sums
                skips = [s for part in gather_object([new_skips]) for s in part] if world > 1 else new_skips
                new_skips = []
                for reason, index, detail in skips:
                    if (reason, index) not in seen_bad:
                        seen_bad.add((reason, index))
                        bad_counts[reason] = bad_counts.get(reason, 0) + 1
                        bad_examples.setdefault(reason, detail)
                        if main and bad_counts[reason] <= 3:
                            monitor.log(f"skipped a bad record ({reason}): {detail}")
                count = max(float(totals[-1]), 1.0)
                elapsed = time.time() - t_log
                row = {n: float(totals[i]) / count for i, n in enumerate(names)}
                row.update(
                    lr=lr,
                    grad_norm=float(grad_norm) if grad_norm is not None else float("nan"),
                    samples_per_s=cfg.train.batch_size * steps_since / max(elapsed, 1e-9),
                    skipped=len(seen_bad),
                )
                row.update(pending)
                pending = {}
                monitor.metrics(step, row)
                monitor.step(steps_since, loss=row["loss"], lr=lr)
                last_metrics = row
                sums.zero_()
                t_log, steps_since = time.time(), 0

            stopping = stop_requested()
            if step % cfg.train.checkpoint_every == 0 or step == total or stopping:
                save(step)
            if stopping:
                break
    finally:
        stop.uninstall()
        monitor.close()
    stopped_by = None
    if step < total:
        stopped_by = signal.Signals(stop.signal).name if stop.signal is not None else "max_minutes"
    if main and bad_counts:
        summary = ", ".join(f"{n} {r} (e.g. {bad_examples[r]})" for r, n in sorted(bad_counts.items(), key=lambda x: -x[1]))
        monitor.log(f"skipped {len(seen_bad)} bad record(s): {summary}")
    accelerator.end_training()
    return TrainResult(run.path, step, stopped_by, last_metrics)

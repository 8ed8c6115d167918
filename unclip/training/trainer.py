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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from unclip.data.config import open_source
from unclip.data.sampler import BatchPlan
from unclip.training.bad_records import BadRecords
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
    # "SIGTERM" / "SIGINT" when a signal ended the run early, "max_minutes" when the time limit did
    stopped_by: str | None = None
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
    changed = sorted(
        k for k in set(saved) | set(now) if saved.get(k) != now.get(k) and k not in RESUMABLE_CHANGES
    )
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


class Training:
    """One run of `train()`. `setup` builds the pieces (accelerator, run folder, data, stage, network,
    optimizer, EMA), `restore` loads a checkpoint into them; then per optimizer step `step`, and on
    their schedules `sample`, `log` and `checkpoint`. Every process runs the same calls in the same
    order (the collective operations inside them must match)."""

    def __init__(self, cfg: TrainConfig) -> None:
        self.cfg = cfg
        self.pending: dict[str, float] = {}  # sample-grid metrics waiting for the next log row
        self.last_metrics: dict[str, float] = {}
        self.bad = BadRecords()
        self.twin: UnshardedTwin | None = None
        self.replicated: list[torch.nn.Parameter] = []
        self.ckpt: Any = None
        self.start = 0

    # ---------------------------------------------------------------- setup
    def setup(self, resume: bool) -> None:
        from accelerate import Accelerator
        from accelerate.utils import DistributedDataParallelKwargs

        cfg = self.cfg
        if cfg.train.threads:
            torch.set_num_threads(cfg.train.threads)
        find_unused = cfg.stage_name == "upsampler" and cfg.stage.model.separate_last_step
        self.plugin = fsdp_plugin(cfg.train.mixed_precision)  # None unless launched with --use_fsdp
        self.accelerator = accelerator = Accelerator(
            cpu=cpu_distributed(),
            mixed_precision=cfg.train.mixed_precision,
            fsdp_plugin=self.plugin,
            kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=find_unused)],
        )
        self.main, self.world = accelerator.is_main_process, accelerator.num_processes
        self.rank, self.device = accelerator.process_index, accelerator.device
        self.sharded = self.plugin is not None and dist.is_available() and dist.is_initialized()
        self.micro = resolve_batch(cfg, self.world)
        self._setup_run_folder(resume)
        self._setup_stage()
        self._setup_network()

    def _setup_run_folder(self, resume: bool) -> None:
        cfg, run = self.cfg, RunDir(Path(self.cfg.run_dir))
        self.run = run
        self.ckpt_dir = latest_checkpoint(run.checkpoints) if resume else None
        if not resume and list_checkpoints(run.checkpoints):
            raise RunError(
                f"{run.path} already holds checkpoints: pass --resume to continue, or choose another run_dir"
            )
        if self.ckpt_dir is not None:
            check_resume_config(run, cfg)
        if self.main:
            run.path.mkdir(parents=True, exist_ok=True)
            run.write_json("config.json", cfg.to_dict())
        self.accelerator.wait_for_everyone()
        self.monitor = Monitor(run.path, self.main)

    def _setup_stage(self) -> None:
        with self.accelerator.main_process_first():
            self.source = open_source(self.cfg.data)
        self.monitor.log(f"data: {self.source.describe()}")
        self.stage = stage_class(self.cfg.stage_name)(self.cfg, self.run, self.device, self.main)
        self.stage.setup(self.source, self.accelerator.wait_for_everyone)
        if self.main:
            self.run.write_json("run.json", self.stage.run_info())
            attribution = self.source.attribution()
            if attribution:
                (self.run.path / "ATTRIBUTION.md").write_text(attribution)

    def _setup_network(self) -> None:
        """The network (with the checkpoint's weights when resuming: before FSDP shards it), the optimizer
        and the EMA."""
        cfg = self.cfg
        torch.manual_seed(cfg.train.seed)
        self.module = self.stage.build()
        self.net = self.module.net
        for note in getattr(self.stage, "init_notes", []):
            self.monitor.log(f"init_from: {note}")
        if self.ckpt_dir is not None:
            self.ckpt = load_checkpoint(self.ckpt_dir)
            if self.ckpt.state.data_fingerprint != self.source.fingerprint():
                raise ConfigError(
                    f"{self.ckpt_dir}: the dataset's records changed since this checkpoint; cannot resume exactly"
                )
            self.net.load_state_dict(self.ckpt.model)
            self.start = self.ckpt.state.step
            self.monitor.log(f"resuming from {self.ckpt_dir} (step {self.start})")
        if self.sharded:
            assert self.plugin is not None
            self.twin = UnshardedTwin(self.net, keep=self.main and cfg.train.sample_every > 0)
            self.replicated, units = shard(
                self.module, self.plugin, self.stage.fsdp_blocks, cfg.train.mixed_precision, self.device
            )
            if cfg.train.mixed_precision != "no":
                autocast_forward(self.module, self.accelerator.autocast)
            self.optimizer = make_optimizer(self.module, cfg.optim)
            self.monitor.log(
                f"FSDP: {units} unit(s) sharded over {self.world} processes; "
                f"{len(self.replicated)} scalar parameter(s) replicated"
            )
        else:
            self.optimizer = make_optimizer(self.module, cfg.optim)
            self.module, self.optimizer = self.accelerator.prepare(self.module, self.optimizer)
        self.ema = EMA(self.net, cfg.train.ema_decay) if self.main or self.sharded else None

    # ---------------------------------------------------------------- restore
    def restore(self) -> None:
        """Optimizer, loss scaler, EMA and random number generators from the checkpoint being resumed."""
        ckpt = self.ckpt
        if ckpt is None:
            return
        state = unflatten_optimizer(ckpt.optimizer, ckpt.state.param_groups, ckpt.state.optimizer_scalars)
        self.optimizer.load_state_dict(shard_optimizer(state, self.optimizer) if self.sharded else state)
        if self.accelerator.scaler is not None and ckpt.state.scaler:
            self.accelerator.scaler.load_state_dict(ckpt.state.scaler)
        if self.ema is not None:
            if ckpt.ema is None:
                raise RunError(f"{self.ckpt_dir}: no EMA weights")
            self.ema.load(ckpt.ema, ckpt.state.ema_updates)
        restore_rng(ckpt.rng, ckpt.state)

    def data(self) -> Iterator[dict[str, Any]]:
        """The micro-batches from step `start` on (the same ones an uninterrupted run would see)."""
        cfg, device = self.cfg, self.device
        self.plan = BatchPlan(
            len(self.source), cfg.train.seed, cfg.train.batch_size, self.micro, self.world, self.rank
        )
        dataset = ExampleDataset(
            self.source, self.stage.maker(), cfg.train.seed, self.stage.min_image_size(), self.stage.store
        )
        workers = cfg.data.num_workers
        loader = torch.utils.data.DataLoader(
            dataset,
            batch_sampler=self.plan.micro_batches(self.start),  # type: ignore[arg-type]
            num_workers=workers,
            collate_fn=collate,
            worker_init_fn=worker_init if workers else None,
            pin_memory=device.type == "cuda",
            prefetch_factor=4 if workers else None,
        )
        params = sum(p.numel() for p in self.net.parameters())
        self.monitor.log(
            f"{cfg.stage_name}: {params / 1e6:.2f}M parameters; {self.world} process(es) x micro-batch "
            f"{self.micro} x {self.plan.accumulation} accumulation = batch {cfg.train.batch_size}; "
            f"steps {self.start} -> {cfg.train.steps} on {device}"
        )
        self.monitor.start(cfg.train.steps, self.start, cfg.train.progress, cfg.train.tensorboard)
        self.names = ("loss", *self.stage.metric_names)
        self.sums = torch.zeros(len(self.names) + 1, device=device, dtype=torch.float64)  # + valid count
        return iter(loader)

    # ---------------------------------------------------------------- one optimizer step
    def step(self, data: Iterator[dict[str, Any]], step: int) -> None:
        """Accumulate the gradient of one global batch over the micro-batches, clip, step, update the EMA."""
        cfg, accelerator, module, stage = self.cfg, self.accelerator, self.module, self.stage
        self.lr = set_lr(self.optimizer, step, cfg.optim, cfg.train.steps)
        accumulation = self.plan.accumulation
        for m in range(accumulation):
            batch = next(data)
            self.bad.new.extend(batch.pop("skip"))
            batch = to_device(batch, self.device)
            # FSDP reduce-scatters every micro-step (skipping it would hold whole unsharded gradients).
            last = m == accumulation - 1
            sync = contextlib.nullcontext() if last or self.sharded else accelerator.no_sync(module)
            with sync:
                per_sample, metrics = stage.loss(module, batch)
                valid = batch["valid"].to(per_sample.dtype)
                loss = (per_sample * valid).sum() / (self.micro * accumulation)
                accelerator.backward(loss)
            with torch.no_grad():
                parts = [(per_sample * valid).sum()] + [
                    (metrics[n].float() * valid).sum() for n in stage.metric_names
                ]
                self.sums += torch.stack([*[p.double() for p in parts], valid.sum().double()])
        sync_replicated_grads(self.replicated, self.world)
        self.grad_norm = None
        if cfg.optim.grad_clip > 0:
            self.grad_norm = accelerator.clip_grad_norm_(module.parameters(), cfg.optim.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.ema is not None:
            self.ema.update(self.net)

    # ---------------------------------------------------------------- sample grid
    def sample(self, step: int) -> None:
        """The stage's sample grid with the EMA weights (FSDP: gathered into an unsharded copy on the
        main process); its metrics join the next log row."""
        net, ema = self.net, self.ema
        if self.twin is not None:
            assert ema is not None
            unsharded = self.twin.fill(net, ema.shadow, self.device)
            if unsharded is not None:
                try:
                    self.pending.update(self.stage.sample(unsharded, step))
                finally:
                    self.twin.release()
        elif self.main:
            assert ema is not None
            live = ema.swap_into(net)
            net.eval()
            try:
                self.pending.update(self.stage.sample(net, step))
            finally:
                EMA.restore(net, live)
                net.train()
        self.accelerator.wait_for_everyone()

    # ---------------------------------------------------------------- metrics
    def log(self, step: int, steps_since: int, elapsed: float) -> None:
        """One metrics row: the mean loss and metrics over the valid samples since the last row (all
        processes), learning rate, gradient norm, throughput, bad records."""
        from accelerate.utils import gather_object

        world = self.world
        totals = self.accelerator.reduce(self.sums.clone(), "sum") if world > 1 else self.sums
        skips = [s for part in gather_object([self.bad.new]) for s in part] if world > 1 else self.bad.new
        self.bad.new = []
        self.bad.collect(skips, self.monitor, self.main)
        count = max(float(totals[-1]), 1.0)
        row = {n: float(totals[i]) / count for i, n in enumerate(self.names)}
        row.update(
            lr=self.lr,
            grad_norm=float(self.grad_norm) if self.grad_norm is not None else float("nan"),
            samples_per_s=self.cfg.train.batch_size * steps_since / max(elapsed, 1e-9),
            skipped=len(self.bad.seen),
        )
        row.update(self.pending)
        self.pending = {}
        self.monitor.metrics(step, row)
        self.monitor.step(steps_since, loss=row["loss"], lr=self.lr)
        self.last_metrics = row
        self.sums.zero_()

    # ---------------------------------------------------------------- checkpoint
    def checkpoint(self, step: int) -> None:
        """An atomic checkpoint of full state dicts on the CPU. Under FSDP every process gathers its
        shards; the main process writes."""
        accelerator, ema = self.accelerator, self.ema
        if not (self.main or self.sharded):
            accelerator.wait_for_everyone()
            return
        model_state = gather(self.net.state_dict().items(), self.main)
        ema_state = ema.tensors(self.main) if ema else None
        optimizer_state = gather_optimizer(self.optimizer.state_dict(), self.main)
        if self.main:
            tensors, groups, scalars = flatten_optimizer(optimizer_state)
            state = CheckpointState(
                step=step,
                ema_updates=ema.updates if ema else 0,
                data_fingerprint=self.source.fingerprint(),
                param_groups=groups,
                optimizer_scalars=scalars,
                scaler=accelerator.scaler.state_dict() if accelerator.scaler is not None else None,
                python_rng=python_rng_json(),
                numpy_rng=numpy_rng_json(),
                extra={"world_size": self.world, "micro_batch": self.micro},
            )
            keep = self.cfg.train.keep_checkpoints
            path = save_checkpoint(self.run.checkpoints, state, model_state, ema_state, tensors, keep)
            self.monitor.log(f"checkpoint: {path}")
        accelerator.wait_for_everyone()

    def stop_requested(self, stop: StopFlag, deadline: float | None) -> bool:
        """A signal or the time limit; every process must agree to stop on the same step (their clocks and
        signals differ)."""
        flag = stop.requested or (deadline is not None and time.time() >= deadline)
        if self.world > 1 and dist.is_initialized():
            t = torch.tensor([1.0 if flag else 0.0], device=self.device)
            dist.all_reduce(t, op=dist.ReduceOp.MAX)
            flag = bool(t.item() > 0)
        return flag

    def finish(self, step: int, stop: StopFlag) -> TrainResult:
        stopped_by = None
        if step < self.cfg.train.steps:
            stopped_by = signal.Signals(stop.signal).name if stop.signal is not None else "max_minutes"
        if self.main and self.bad.counts:
            self.monitor.log(f"skipped {len(self.bad.seen)} bad record(s): {self.bad.summary()}")
        self.accelerator.end_training()
        return TrainResult(self.run.path, step, stopped_by, self.last_metrics)


def train(cfg: TrainConfig, resume: bool = False) -> TrainResult:
    """Train `cfg`'s stage; with `resume`, continue from the run folder's newest checkpoint (if any)."""
    t = cfg.train
    run = Training(cfg)
    run.setup(resume)
    run.restore()
    data = run.data()
    stop = StopFlag().install()
    deadline = time.time() + t.max_minutes * 60 if t.max_minutes > 0 else None
    step = run.start
    t_log, steps_since = time.time(), 0
    run.module.train()
    try:
        while step < t.steps:
            run.step(data, step)
            step += 1
            steps_since += 1
            if t.sample_every and step % t.sample_every == 0:
                run.sample(step)
            if step % t.log_every == 0 or step == t.steps:
                run.log(step, steps_since, time.time() - t_log)
                t_log, steps_since = time.time(), 0
            stopping = run.stop_requested(stop, deadline)
            if step % t.checkpoint_every == 0 or step == t.steps or stopping:
                run.checkpoint(step)
            if stopping:
                break
    finally:
        stop.uninstall()
        run.monitor.close()
    return run.finish(step, stop)

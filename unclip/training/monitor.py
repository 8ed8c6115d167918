"""Progress: a tqdm bar with loss and ETA, metrics.csv (appended across resumes), TensorBoard when
installed, and log.txt. Only the main process writes."""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path
from typing import Any


class Monitor:
    def __init__(self, run_dir: Path, enabled: bool):
        self.enabled = enabled
        self.run_dir = run_dir
        self.bar = None
        self.tb: Any = None  # a TensorBoard SummaryWriter when enabled
        self.csv_path = run_dir / "metrics.csv"
        self._fields: list[str] | None = None

    def start(self, total_steps: int, start_step: int, progress: bool, tensorboard: bool) -> None:
        """Open the progress bar, TensorBoard and metrics.csv (a fresh run starts a new CSV)."""
        if not self.enabled:
            return
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=total_steps, initial=start_step, desc="train", dynamic_ncols=True, file=sys.stderr
            )
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(self.run_dir / "tensorboard"))
            except ImportError:
                self.tb = None
        if self.csv_path.is_file():
            with self.csv_path.open() as f:
                header = f.readline().strip()
            self._fields = header.split(",") if header else None
            if start_step == 0:
                self.csv_path.unlink()
                self._fields = None
            else:
                self._truncate_after(start_step)

    def _truncate_after(self, step: int) -> None:
        """A resumed run rewrites the rows after its checkpoint, so the CSV has each step once."""
        with self.csv_path.open(newline="") as f:
            rows = list(csv.DictReader(f))
        kept = [r for r in rows if r.get("step", "").isdigit() and int(r["step"]) <= step]
        if len(kept) != len(rows) and self._fields:
            with self.csv_path.open("w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=self._fields)
                w.writeheader()
                w.writerows(kept)

    def log(self, message: str) -> None:
        if not self.enabled:
            return
        line = f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {message}"
        with (self.run_dir / "log.txt").open("a") as f:
            f.write(line + "\n")
        if self.bar is not None:
            self.bar.write(message, file=sys.stderr)
        else:
            print(message, file=sys.stderr, flush=True)

    def metrics(self, step: int, values: dict[str, Any]) -> None:
        if not self.enabled:
            return
        row = {"step": step, **values}
        if self._fields is None:
            self._fields = list(row)
            with self.csv_path.open("w", newline="") as f:
                csv.DictWriter(f, fieldnames=self._fields).writeheader()
        missing = [k for k in row if k not in self._fields]
        if missing:  # sample metrics appear later: rewrite the header once with the new columns
            with self.csv_path.open(newline="") as f:
                rows = list(csv.DictReader(f))
            self._fields += missing
            with self.csv_path.open("w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=self._fields)
                w.writeheader()
                w.writerows(rows)
        with self.csv_path.open("a", newline="") as f:
            csv.DictWriter(f, fieldnames=self._fields).writerow({k: _fmt(v) for k, v in row.items()})
        if self.tb is not None:
            for k, v in values.items():
                if isinstance(v, (int, float)):
                    self.tb.add_scalar(k, v, step)

    def step(self, n: int = 1, **postfix: float) -> None:
        if self.bar is not None:
            self.bar.update(n)
            if postfix:
                self.bar.set_postfix({k: f"{v:.4g}" for k, v in postfix.items()}, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.tb is not None:
            self.tb.close()


def _fmt(v: Any) -> Any:
    return f"{v:.6g}" if isinstance(v, float) else v

"""Records the data loader skipped during training (unreadable, too small, ...), counted once each."""

from __future__ import annotations

from unclip.training.monitor import Monitor


class BadRecords:
    """Records the data loader skipped (unreadable, too small, ...): each counted once over all processes,
    the first three of each reason logged, a summary at the end."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, int]] = set()
        self.counts: dict[str, int] = {}
        self.examples: dict[str, str] = {}
        self.new: list[tuple[str, int, str]] = []  # skips since the last `collect`, this process only

    def collect(self, skips: list[tuple[str, int, str]], monitor: Monitor, main: bool) -> None:
        """Count `skips` (every process's, gathered) and log the first few of each reason."""
        for reason, index, detail in skips:
            if (reason, index) not in self.seen:
                self.seen.add((reason, index))
                self.counts[reason] = self.counts.get(reason, 0) + 1
                self.examples.setdefault(reason, detail)
                if main and self.counts[reason] <= 3:
                    monitor.log(f"skipped a bad record ({reason}): {detail}")

    def summary(self) -> str:
        most_first = sorted(self.counts.items(), key=lambda x: -x[1])
        return ", ".join(f"{n} {r} (e.g. {self.examples[r]})" for r, n in most_first)

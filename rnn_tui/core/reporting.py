"""The rows of metrics.jsonl on their way to disk.

The trainer opens a row every ``--log-every`` steps (and at each evaluation), fills in the
training loss when its batch of losses is reported, and hands finished rows here to append. A
row is written once: an evaluation that lands after its step's row went out takes the row (and
its batch) back and writes it again amended, in place. While metrics.jsonl cannot be written (a
full disk) rows wait in memory, with one warning, and go out whole once writing works again.
No torch here.
"""

from __future__ import annotations

from collections.abc import Callable

from rnn_tui.core import events as ev

MAX_UNWRITTEN_ROWS = 100_000  # rows kept in memory while metrics.jsonl cannot be written


class MetricsLog:
    def __init__(self, run, sink: Callable[[object], None], writes: bool = True) -> None:
        self.run = run
        self.sink = sink
        self.writes = writes  # False on torchrun ranks other than 0: rank 0 owns the file
        self.pending: dict[int, dict] = {}
        self.unwritten: list[dict] = []
        self.last_batch: tuple[int, list[dict]] | None = None  # (file offset, rows) of the last append
        self.rewrite_from: int | None = None  # amend the last batch: cut metrics.jsonl back to here first
        self.failing = False

    def has_work(self, sync: bool) -> bool:
        return bool(self.pending) or (sync and bool(self.unwritten))

    def open(self, step: int, lr: float, grad_norm: float, elapsed: float) -> dict:
        row = {"step": step, "lr": lr, "grad_norm": grad_norm, "elapsed": round(elapsed, 3)}
        self.pending[step] = row
        return row

    def row_for(self, step: int) -> dict | None:
        """This step's row if it is still to be written, or taken back with its batch to be written
        again amended (never twice)."""
        if step in self.pending:
            return self.pending[step]
        if self.unwritten and self.unwritten[-1]["step"] == step:
            self.pending[step] = self.unwritten.pop()
            return self.pending[step]
        if self.last_batch is not None and self.last_batch[1][-1]["step"] == step and not self.unwritten:
            (self.rewrite_from, rows), self.last_batch = self.last_batch, None
            self.pending.update((r["step"], r) for r in rows)
            return self.pending[step]
        return None

    def finish(self, losses: tuple[tuple[int, float], ...], chars_per_sec: float, sync: bool) -> None:
        """Put the reported losses into their rows and append every pending row, in step order."""
        for step, value in losses:
            if step in self.pending:
                self.pending[step]["train_loss"] = value
        rows = []
        for step in sorted(self.pending):
            row = self.pending.pop(step)
            row.setdefault("chars_per_sec", round(chars_per_sec, 1))
            rows.append(row)
        if self.writes:
            self._write(rows, sync)

    def _write(self, rows: list[dict], sync: bool) -> None:
        rows = self.unwritten + rows
        if not rows and self.rewrite_from is None:
            return
        try:
            start = self.run.append_metrics(rows, sync=sync, at=self.rewrite_from)
        except OSError as exc:
            self.unwritten = rows[-MAX_UNWRITTEN_ROWS:]
            if not self.failing:
                self.failing = True
                self.sink(
                    ev.Notice(
                        "warning",
                        f"could not write metrics.jsonl ({exc.strerror or exc}); the rows wait "
                        f"in memory and training goes on",
                    )
                )
            return
        self.unwritten, self.rewrite_from = [], None
        self.last_batch = (start, rows) if rows else None
        if self.failing:
            self.failing = False
            self.sink(ev.Notice("info", "metrics.jsonl is written again"))

"""The stats panel: what is training, where, how fast, and how well."""

from __future__ import annotations

import time

from rich.table import Table
from rich.text import Text
from textual.widgets import Static


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(max(0, seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


def fmt_count(n: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f}{unit}"
    return f"{n:.0f}"


class StatsPanel(Static):
    DEFAULT_CSS = """
    StatsPanel { width: 32; height: auto; padding: 0 1; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.started = None
        self.progress = None
        self.last_val: float | None = None
        self.best_val: float | None = None
        self.last_save: float | None = None
        self.state = "starting"

    def on_mount(self) -> None:
        self.set_interval(1.0, self.redraw)  # keeps "since save" ticking even while paused

    def redraw(self) -> None:
        self.update(self.table())

    def table(self) -> Table:
        self.border_title = f"training \u00b7 {self.state}"
        t = Table.grid(padding=(0, 1))
        t.add_column(style="dim", no_wrap=True, min_width=8)
        t.add_column(no_wrap=True, overflow="ellipsis")
        s, p = self.started, self.progress
        if s is not None:
            c = s.config
            t.add_row("model", Text(f"{c['cell'].upper()} {c['layers']}x{c['hidden_size']}"))
            t.add_row("params", fmt_count(s.parameters))
            t.add_row("device", Text(f"{s.device_name}"))
            t.add_row("precision", s.precision)
        if p is not None and p.memory:
            used, total = p.memory
            t.add_row("gpu mem", f"{used / 2**30:.1f}/{total / 2**30:.0f} GiB")
        if p is not None:
            t.add_row("step", f"{p.step:,}")
            t.add_row("epoch", f"{p.epoch} ({p.epoch_fraction:.0%})")
            t.add_row("chars/s", fmt_count(p.chars_per_sec) if self.state == "running" else "-")
            t.add_row("ETA", fmt_duration(p.eta) if p.eta is not None else "open-ended")
            t.add_row("lr", f"{p.lr:.2e}")
            t.add_row("grad norm", f"{p.grad_norm:.3f}")
            if p.skipped_steps:
                t.add_row("skipped", Text(str(p.skipped_steps), style="bold red"))
        val = "-" if self.last_val is None else f"{self.last_val:.4f}"
        if self.best_val is not None:
            val += f" (best {self.best_val:.3f})"
        t.add_row("val loss", val)
        t.add_row("saved", "never" if self.last_save is None else f"{fmt_duration(time.monotonic() - self.last_save)} ago")
        return t

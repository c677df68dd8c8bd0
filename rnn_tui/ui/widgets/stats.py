"""The stats panel: what is training, where, how fast, and how well.

Rows have a priority: when the panel is short (80x24) the least useful rows
(params, precision) are left out rather than the numbers below them cut off,
and a value too wide for its column wraps instead of ending in an ellipsis.

It redraws every second and on every report, so it is laid out by hand as one ``Text`` (a
``rich`` table cost ~3 ms a frame) and asks for a new layout only when its height changes.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.widget import Widget

from rnn_tui.core.units import NATS_TO_BITS, ago, count, duration

if TYPE_CHECKING:
    from rnn_tui.core import events as ev


class StatsPanel(Widget):
    DEFAULT_CSS = """
    StatsPanel { width: 34; height: auto; padding: 0 1; }
    """
    LABEL_WIDTH = 9

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.shown = Text()
        self.clock = time.time  # wall clock, so a checkpoint's mtime and a live save compare; tests freeze it
        self.model_of: str | None = None  # "model 2 of 3: gru" in compare mode
        self.bits = False
        self.reset()

    def reset(self) -> None:
        """Forget the previous run (compare mode trains several in turn)."""
        self.started: ev.Started | None = None
        self.progress: ev.Progress | None = None
        self.train_loss: float | None = None
        self.last_val: float | None = None
        self.best_val: float | None = None
        self.best_step: int | None = None
        self.saved_step: int | None = None
        self.saved_at: float | None = None
        self.state = "starting"

    def saved(self, step: int, at: float | None = None) -> None:
        self.saved_step = step
        self.saved_at = self.clock() if at is None else at

    def on_mount(self) -> None:
        self.set_interval(1.0, self.redraw)  # keeps "saved 5s ago" ticking even while paused

    def on_resize(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        title = f"{self.model_of} \u00b7 {self.state}" if self.model_of else f"training \u00b7 {self.state}"
        self.border_title = title
        before, self.shown = self.shown, self.table()
        self.refresh(layout=self.shown.plain.count("\n") != before.plain.count("\n"))

    def render(self) -> Text:
        return self.shown

    def loss(self, value: float | None) -> str:
        if value is None:
            return "-"
        return f"{value * (NATS_TO_BITS if self.bits else 1.0):.4f} {'bits' if self.bits else 'nats'}"

    def device_text(self) -> str:
        """The device as now: on the CPU the thread count follows the thread tuner's choice."""
        s, p = self.started, self.progress
        if s is None:
            return "-"
        if p is not None and p.threads and s.device == "cpu":
            return f"CPU, {p.threads} thread{'s' if p.threads > 1 else ''}"
        return s.device_name

    def rows(self) -> list[tuple[int, str, str | Text]]:
        """(priority, label, value) in display order; priority 0 is never left out."""
        rows: list[tuple[int, str, str | Text]] = []
        s, p = self.started, self.progress
        if s is not None:
            c = s.config
            rows.append((0, "model", Text(f"{c['cell'].upper()} {c['layers']}x{c['hidden_size']}")))
            rows.append((5, "params", count(s.parameters)))
            rows.append((3, "device", Text(self.device_text())))
            rows.append((5, "precision", s.precision))
        if p is not None and p.memory:
            used, total = p.memory
            rows.append((4, "gpu mem", f"{used / 2**30:.1f}/{total / 2**30:.0f} GiB"))
        live = self.state in ("running", "paused")
        if p is not None:
            rows.append((0, "step", f"{p.step:,}"))
            rows.append((2, "epoch", f"{p.epoch} ({p.epoch_fraction:.0%})"))
            rows.append((6, "elapsed", duration(p.elapsed)))
            rows.append((1, "ETA", (duration(p.eta) if p.eta is not None else "open-ended") if live else "-"))
            rows.append((1, "chars/s", count(p.chars_per_sec) if self.state == "running" else "-"))
            rows.append((6, "seen", f"{count(p.chars_seen)} chars"))
            rows.append((2, "lr", f"{p.lr:.2e}"))
            rows.append((2, "grad norm", f"{p.grad_norm:.3f}"))
            if p.skipped_steps:
                rows.append((0, "skipped", Text(str(p.skipped_steps), style="bold red")))
        rows.append((0, "train", self.loss(self.train_loss)))
        rows.append((0, "val", self.loss(self.last_val)))
        best = self.loss(self.best_val)
        if self.best_val is not None and self.best_step is not None:
            best = best.split()[0] + f", step {self.best_step:,}"
        rows.append((0, "best val", best))
        rows.append((1, "saved", self.saved_text()))
        if s is not None:  # facts of the run, for a tall panel
            rows.append((6, "run", Text(s.run_name)))
            rows.append((6, "vocab", f"{s.vocab_size:,} chars"))
            rows.append((6, "corpus", f"{count(s.train_chars)} + {count(s.val_chars)} val"))
        return rows

    def saved_text(self) -> str:
        if self.saved_step is None:
            return "never"
        when = "" if self.saved_at is None else f", {ago(self.clock() - self.saved_at)}"
        return f"step {self.saved_step:,}{when}"

    def table(self) -> Text:
        """The rows that fit, as label and value columns; a long value wraps under itself."""
        rows = self.rows()
        width = max(1, self.content_size.width - self.LABEL_WIDTH - 1) if self.content_size.width else 0
        height = self.content_size.height or 0
        console = self.app.console if self.is_attached else None
        wrapped = []
        for priority, label, value in rows:
            text = value if isinstance(value, Text) else Text(str(value))
            lines = list(text.wrap(console, width, overflow="fold")) if width and console else [text]
            wrapped.append((priority, label, lines))
        keep = wrapped
        if height:  # leave out the least useful rows until the rest fit
            for level in (6, 5, 4, 3, 2, 1):
                if sum(len(lines) for _, _, lines in keep) <= height:
                    break
                keep = [r for r in keep if r[0] < level]
        out = Text()
        for _, label, lines in keep:
            for k, line in enumerate(lines):
                if out:
                    out.append("\n")
                out.append(f"{label if k == 0 else '':{self.LABEL_WIDTH}} ", style="dim")
                out.append_text(line)
        return out

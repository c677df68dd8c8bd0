"""The gate view: every character coloured by the selected layer / gate / unit.

Tracing runs in a thread worker on a weights snapshot, so training never
pauses; while training, the view re-traces from the newest snapshot every few
seconds (and on ``r``). It traces as many characters as the pane can show, and
again when a resize makes the pane outgrow them. The validation text is cut
from the corpus at an arbitrary character, so it is shown from its first whole
line (or word) unless it is all there is.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Static
from textual.worker import Worker

from rnn_tui.core.config import MAX_TRACE_CHARS
from rnn_tui.ui.host import HostedScreen, host
from rnn_tui.ui.widgets.colour import legend, value_style
from rnn_tui.ui.widgets.gate_text import GateText
from rnn_tui.ui.widgets.key_bar import KeyBar
from rnn_tui.ui.widgets.text_layout import visible_whitespace, wrap_rows

if TYPE_CHECKING:
    from rnn_tui.core.events import Snapshot
    from rnn_tui.core.gates import GateTrace

SOURCES = ("validation", "sample", "typed")
TRACE_CHARS = 1200  # at least this much, for the overview's statistics
REFRESH_EVERY = 5.0
BAR_BLOCKS = " \u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"  # eighths of a cell, empty to full
OVERVIEW_FIXED_ROWS = 8  # the overview's rows besides the ranked units: saturation (6), a heading, the n hint
OVERVIEW_MIN_UNITS = 8  # ranked units listed before the pane's height is known, and before the per-gate rows
STEPPED_WITHIN = 16  # a snapshot this few steps on came from stepping: retrace it at once
LINE_START_WITHIN = 400  # how far into a slice of text to look for the end of its first, cut line


def signed(value: float) -> str:
    """Two decimals with a sign; a value that rounds to zero reads +0.00, never -0.00."""
    return f"{0.0 if abs(value) < 0.005 else value:+.2f}"


class GatesScreen(HostedScreen):
    # Footer order is importance order; the footer drops what does not fit (all of it is in help).
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("down", "unit(1)", "Unit", key_display="\u2191\u2193"),
        Binding("up", "unit(-1)", "Previous unit", show=False),
        Binding("right_square_bracket", "gate(1)", "Gate", key_display="[]"),
        Binding("left_square_bracket", "gate(-1)", "Previous gate", show=False),
        Binding("l", "layer(1)", "Layer"),
        Binding("right", "move(1)", "Char", key_display="\u2190\u2192"),
        Binding("left", "move(-1)", "Previous char", show=False),
        Binding("o", "overview", "Overview"),
        Binding("v", "source", "Source"),
        Binding("e", "edit", "Type"),
        Binding("n", "interesting", "Next unit"),
        Binding("shift+right", "select(1)", "Select", show=False),
        Binding("shift+left", "select(-1)", "Select", show=False),
        Binding("home", "jump(0)", "Start", show=False),
        Binding("end", "jump(-1)", "End", show=False),
        Binding("r", "retrace", "Refresh", show=False),
        Binding("full_stop", "step", "Step", show=False),
        Binding("L", "layer(-1)", "Previous layer", show=False),
    ]
    DEFAULT_CSS = """
    GatesScreen #gate-head { height: 1; padding: 0 1; background: $boost; }
    GatesScreen #gate-body { height: 1fr; }
    GatesScreen #overview { width: 34; height: 1fr; padding: 0 1; }
    GatesScreen GateText { border-subtitle-align: right; }
    GatesScreen #overview.hidden { display: none; }
    GatesScreen #gate-detail { height: 4; padding: 0 1; }
    GatesScreen #gate-detail, GatesScreen #gate-head { text-wrap: nowrap; text-overflow: ellipsis; }
    GatesScreen #gate-input { display: none; }
    GatesScreen #gate-input.shown { display: block; }
    """

    class Traced(Message):
        """The tracing worker's result: a trace, or why there is none."""

        def __init__(self, trace: GateTrace | None, step: int, error: str | None) -> None:
            super().__init__()
            self.trace, self.step, self.error = trace, step, error

    def __init__(self, source: str | None = None) -> None:
        super().__init__()
        self.trace: GateTrace | None = None
        self.traced_step = -1
        self.traced_source = ""  # the source of the text on screen (a refused typed text leaves it there)
        self.layer_index = 0
        self.gate_index = 0
        self.unit = 0
        self.source = source or "validation"
        self.typed = ""
        self.error: str | None = None
        self.interesting: list[tuple[int, str, float]] = []
        self._memo_of: GateTrace | None = None  # the trace the summaries below were computed on
        self._memos: dict[tuple, Any] = {}
        self.interesting_pos = -1
        self.requested_chars = 0  # how much text the last trace asked for
        self.source_exhausted = False  # the source had less than that

    def compose(self) -> ComposeResult:
        yield Static("", id="gate-head")
        yield Input(placeholder="type text to trace, Enter to trace it, Esc to cancel", id="gate-input")
        with Horizontal(id="gate-body"):
            yield GateText(id="gate-text", classes="pane")
            yield Static("", id="overview", classes="pane accent hidden")
        yield Static("", id="gate-detail")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(GateText).focus()
        self.call_after_refresh(self.retrace)  # after layout: the pane's size sets how much to trace
        self.set_interval(REFRESH_EVERY, self._refresh_if_training)

    # ---- tracing ------------------------------------------------------------
    def wanted_chars(self) -> int:
        """Enough characters to fill the text pane (at most one per cell), never fewer than TRACE_CHARS."""
        return min(MAX_TRACE_CHARS, max(TRACE_CHARS, self.query_one(GateText).capacity))

    def _text(self) -> str | None:
        if self.source == "typed":
            return self.typed or None
        self.requested_chars = self.wanted_chars()
        text = host(self).gate_text(self.source, self.requested_chars)
        self.source_exhausted = text is not None and len(text) < self.requested_chars
        if text and self.source == "validation" and not self.source_exhausted:
            text = from_a_whole_line(text)  # there is more than the pane shows: lose the cut line, not a whole one
        if text:
            # Tracing costs per character: keep what fills the pane (short lines need far fewer).
            gate_text = self.query_one(GateText)
            rows = wrap_rows(text, max(2, gate_text.size.width))
            height = max(1, gate_text.size.height)
            if len(rows) > height:
                text = text[: max(TRACE_CHARS, rows[height])]
        return text

    def on_resize(self) -> None:
        """A bigger pane than the trace can fill: trace more of the same source."""
        if self.trace is not None and not self.query_one("#overview").has_class("hidden"):
            self.call_after_refresh(self.redraw)  # the overview lists as many units as its height holds
        if (
            self.trace is not None
            and self.source != "typed"
            and not self.source_exhausted
            and self.wanted_chars() > self.requested_chars
        ):
            self.retrace()

    def retrace(self, background: bool = False) -> None:
        """Trace the current text on the newest weights; ``background``: a refresh nobody is waiting for."""
        snapshot = host(self).latest_snapshot
        text = self._text()
        if snapshot is None:
            return
        if not text:
            self.error = f"no {self.source} text yet; press v for another source"
            self.redraw()
            return
        self._trace(snapshot, text, background)

    @work(thread=True, exclusive=True, group="trace", exit_on_error=False, description="tracing the gates")
    def _trace(self, snapshot: Snapshot, text: str, background: bool = False) -> None:
        from rnn_tui.core.corpus import Vocab
        from rnn_tui.core.errors import UserError
        from rnn_tui.core.gates import trace
        from rnn_tui.core.model import build_from_weights
        from rnn_tui.core.priority import lower_thread_priority

        if background:  # a refresh: training keeps the CPU and this fills the gaps. A key's trace is awaited:
            lower_thread_priority()  # at the screen's priority it is shown in ~0.3 s, not 2 s, beside training
        vocab = Vocab(snapshot.vocab)
        keep = "".join(ch for ch in text if ch in vocab.index)
        try:
            if self.source == "typed":
                from rnn_tui.core.sampling import check_prime

                check_prime(vocab, text, what="the typed text")
            model = build_from_weights(snapshot.config, snapshot.vocab, snapshot.weights)
            result = trace(model, vocab, keep)
        except UserError as exc:
            self.post_message(self.Traced(None, snapshot.step, str(exc)))
            return
        self.post_message(self.Traced(result, snapshot.step, None))

    def on_gates_screen_traced(self, message: Traced) -> None:
        result, step = message.trace, message.step
        self.error = message.error
        if result is None and self.source == "typed" and self.trace is not None:
            # The typed text was refused: the pane keeps the text it shows, and says so; e edits the text.
            self.source = self.traced_source
            self.error = f"{message.error} (e edits it; the pane still shows the {self.traced_source} text)"
        if result is not None:
            self.trace, self.traced_step, self.traced_source = result, step, self.source
            self.unit = min(self.unit, result.hidden_size - 1)
            self.layer_index = min(self.layer_index, len(result.layers) - 1)
            self.gate_index = min(self.gate_index, len(result.gates) - 1)
        self.redraw()

    def worker_failed(self, worker: Worker) -> None:
        self.error = f"tracing failed: {worker.error}"
        self.redraw()

    def snapshot_arrived(self, snapshot: Snapshot) -> None:
        # Retraced on the refresh timer while training runs; at once after a few steps (stepping while paused).
        stepped = self._stepped and 0 < snapshot.step - self.traced_step <= STEPPED_WITHIN
        if self.is_current and snapshot.step > self.traced_step and self.traced_step >= 0 and (self._due or stepped):
            self._due = self._stepped = False
            self.retrace(background=not stepped)

    _due = False
    _stepped = False  # '.' pressed here: the snapshot after the step is traced at once (slow training is not)

    def _refresh_if_training(self) -> None:
        self._due = True
        host(self).request_snapshot()

    # ---- drawing --------------------------------------------------------------
    @property
    def gate(self) -> str:
        return self.trace.gates[self.gate_index] if self.trace else "h"

    def redraw(self) -> None:
        from rnn_tui.core.gates import GATE_NAMES, SIGMOID_GATES, display_values

        head = self.query_one("#gate-head", Static)
        text_widget = self.query_one(GateText)
        detail = self.query_one("#gate-detail", Static)
        if self.trace is None:
            head.update(Text(self.error or "tracing\u2026"))
            return
        t, gate = self.trace, self.gate
        diverging = gate not in SIGMOID_GATES
        values = display_values(t, self.layer_index, gate)[:, self.unit].tolist()
        text_widget.set_data(t.chars, values, diverging)
        title = Text()
        title.append(f"{t.cell.upper()} layer {self.layer_index + 1}/{len(t.layers)}", style="bold")
        title.append(" \u00b7 ")
        title.append(f"{gate}: {GATE_NAMES[gate]}{' tanh(c)' if gate == 'c' else ''}", style="bold")
        title.append(f" \u00b7 unit {self.unit}/{t.hidden_size - 1}")
        head.update(title)
        text_widget.border_title = f"{self.traced_source} text \u00b7 weights @ step {self.traced_step:,}"
        text_widget.border_subtitle = legend(diverging)
        detail.update(self._detail())
        if not self.query_one("#overview").has_class("hidden"):
            self.query_one("#overview", Static).update(self._overview())

    def _detail(self) -> Text:
        """Four rows: gates at the cursor, the model's next guesses, units on across a span, an error."""
        from rnn_tui.core.gates import SIGMOID_GATES, active_units, display_values

        t = self.trace
        if t is None:
            return Text(self.error or "")
        gt = self.query_one(GateText)
        width = max(20, self.query_one("#gate-detail").size.width)
        pos = min(gt.cursor, len(t.chars) - 1)
        out = Text(no_wrap=True, overflow="ellipsis")
        out.append(f"{visible_whitespace(t.chars[pos])!r} @ {pos:,}: ", style="bold")
        for gate in t.gates:
            value = float(display_values(t, self.layer_index, gate)[pos, self.unit])
            out.append(f"{gate}=", style="dim")
            out.append(signed(value), style=value_style(value, gate not in SIGMOID_GATES))
            out.append(" ")
        if self.error:  # it takes the rows below, wrapped: a refusal is read whole
            import textwrap

            for wrapped in textwrap.wrap(self.error, width - 2)[:3]:
                out.append("\n")
                out.append(wrapped, style="bold red")
            return out
        out.append("\nnext: ", style="dim")
        for ch, p in t.top[pos]:
            out.append(visible_whitespace(ch), style="bold")
            out.append(f" {p:.0%}  ")
        lo, hi = gt.span
        out.append("\n")
        if hi - lo > 1:
            units = active_units(t, self.layer_index, self.gate, lo, hi, limit=12)
            line = Text(f"on across {hi - lo} chars:", style="dim")
            for u, v in units:
                item = f"  u{u} (min {signed(v)})"
                if line.cell_len + len(item) > width:
                    break
                line.append(item)
            out.append_text(line)
        else:
            out.append("shift+\u2190/\u2192 selects a span: the units on across it", style="dim")
        return out

    def _memo(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per trace and ``key``: ↑↓ changes only the unit, not these summaries."""
        if self._memo_of is not self.trace:
            self._memo_of, self._memos = self.trace, {}
        if key not in self._memos:
            self._memos[key] = compute()
        return self._memos[key]

    def _overview(self) -> Table:
        from rnn_tui.core.gates import interesting_units, saturation_summary, saturation_thresholds

        t = self.trace
        if t is None:
            return Table.grid()
        layer = self.layer_index
        counts = self._memo(("saturation", layer, self.gate), lambda: saturation_summary(t, layer, self.gate))
        low, high = (f"{threshold:g}" for threshold in saturation_thresholds(self.gate))
        table = Table.grid(padding=(0, 1))
        table.add_column(no_wrap=True, overflow="ellipsis")
        table.add_row(Text(f"{self.gate} saturation, {t.hidden_size} units", style="bold"))
        table.add_row(Text("units by share of chars", style="dim"))
        peak = max(*counts.low, *counts.high, 1)  # one scale for both bars
        pad = max(len(low), len(high)) + 2
        for label, hist in ((f"< {low}", counts.low), (f"> {high}", counts.high)):
            bar = "".join(BAR_BLOCKS[round(h / peak * 8)] for h in hist)
            table.add_row(Text(f"{label:<{pad}} 0{bar}1"))
        table.add_row(Text(f"mostly < {low}: {units(counts.mostly_low)}", style="dim"))
        table.add_row(Text(f"mostly > {high}: {units(counts.mostly_high)}", style="dim"))
        table.add_row(Text("units that follow the text", style="bold"))
        # Fill the pane's height: ranked units, then (with room for both) every gate's saturated units.
        room = self.query_one("#overview").content_region.height - OVERVIEW_FIXED_ROWS
        per_gate = len(t.gates) + 1 if len(t.gates) > 1 else 0
        show_gates = per_gate > 0 and room >= OVERVIEW_MIN_UNITS + per_gate
        limit = max(OVERVIEW_MIN_UNITS, room - per_gate if show_gates else room)
        self.interesting = self._memo(
            ("interesting", layer, self.gate, limit), lambda: interesting_units(t, layer, self.gate, limit=limit)
        )
        for unit, feature, corr in self.interesting:
            marker = "\u25b6" if unit == self.unit else " "
            table.add_row(Text(f"{marker}u{unit:<4} {signed(corr)} {feature}"))
        table.add_row(Text("n: next of these", style="dim"))
        if show_gates:
            table.add_row(Text(f"mostly saturated, layer {self.layer_index + 1}", style="bold"))
            for gate in t.gates:
                gate_counts = self._memo(("saturation", layer, gate), partial(saturation_summary, t, layer, gate))
                marker = "\u25b6" if gate == self.gate else " "
                table.add_row(
                    Text(f"{marker}{gate}  {gate_counts.mostly_low:>3} low {gate_counts.mostly_high:>4} high")
                )
        return table

    # ---- actions ----------------------------------------------------------------
    def action_back(self) -> None:
        if self.query_one("#gate-input").has_class("shown"):
            self._hide_input()
            return
        host(self).pop_screen_or_exit()

    def action_unit(self, delta: int) -> None:
        if self.trace:
            self.unit = (self.unit + delta) % self.trace.hidden_size
            self.redraw()

    def action_gate(self, delta: int) -> None:
        if self.trace:
            self.gate_index = (self.gate_index + delta) % len(self.trace.gates)
            self.redraw()

    def action_layer(self, delta: int) -> None:
        if self.trace:
            self.layer_index = (self.layer_index + delta) % len(self.trace.layers)
            self.redraw()

    def action_move(self, delta: int) -> None:
        gt = self.query_one(GateText)
        gt.selection_anchor = None
        self._move(gt, delta)

    def action_select(self, delta: int) -> None:
        gt = self.query_one(GateText)
        if gt.selection_anchor is None:
            gt.selection_anchor = gt.cursor
        self._move(gt, delta)

    def action_jump(self, where: int) -> None:
        gt = self.query_one(GateText)
        gt.selection_anchor = None
        gt.cursor = 0 if where == 0 else max(0, len(gt.chars) - 1)
        if self.trace:
            self.redraw()

    def _move(self, gt: GateText, delta: int) -> None:
        if gt.chars:
            gt.cursor = max(0, min(len(gt.chars) - 1, gt.cursor + delta))
            self.query_one("#gate-detail", Static).update(self._detail())

    def on_gate_text_cursor_moved(self, message: GateText.CursorMoved) -> None:
        if self.trace:
            self.query_one("#gate-detail", Static).update(self._detail())

    def action_source(self) -> None:
        self.source = SOURCES[(SOURCES.index(self.source) + 1) % len(SOURCES)]
        if self.source == "typed" and not self.typed:
            self.action_edit()
            return
        self.retrace()

    def action_edit(self) -> None:
        box = self.query_one("#gate-input", Input)
        box.add_class("shown")
        box.value = self.typed
        box.focus()

    def _hide_input(self) -> None:
        self.query_one("#gate-input").remove_class("shown")
        self.query_one(GateText).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.typed = event.value
        self.source = "typed"
        self._hide_input()
        self.retrace()

    def action_overview(self) -> None:
        panel = self.query_one("#overview")
        panel.toggle_class("hidden")
        if self.trace:
            self.redraw()
            self.call_after_refresh(self.redraw)  # again once the shown pane has a height to fill

    def action_interesting(self) -> None:
        if not self.interesting:
            self.query_one("#overview").remove_class("hidden")
            self.redraw()
        if self.interesting:
            self.interesting_pos = (self.interesting_pos + 1) % len(self.interesting)
            self.unit = self.interesting[self.interesting_pos][0]
            self.redraw()

    def action_step(self) -> None:
        """One training step (while the training is paused); the trace follows the new weights."""
        from rnn_tui.core.commands import Step

        if not host(self).training_live:
            self.notify("no training to step: this is a saved run's weights", severity="warning")
            return
        self._stepped = True
        host(self).send_command(Step(1))

    def action_retrace(self) -> None:
        host(self).request_snapshot()
        self.retrace()


def units(count: int) -> str:
    return f"{count} unit" if count == 1 else f"{count} units"


def from_a_whole_line(text: str) -> str:
    """``text`` from its first whole line (or word): a slice cut from a corpus starts anywhere in a line."""
    cut = text.find("\n", 0, LINE_START_WITHIN)
    if cut < 0:
        cut = next((i for i, ch in enumerate(text[:LINE_START_WITHIN]) if ch.isspace()), -1)
    rest = text[cut + 1 :] if cut >= 0 else text
    return rest if rest.strip() else text

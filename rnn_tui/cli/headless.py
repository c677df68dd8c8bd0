"""The headless face: train with a progress display (rich on a terminal, plain lines otherwise).

The trainer runs on the main thread; SIGINT, SIGTERM and SIGHUP only set its
stop flag, so the run is saved at the next step and the process exits with
128 + the signal number. The last line on stdout is the run folder.
"""

from __future__ import annotations

import signal
import sys
import time

SAMPLE_PRINT_EVERY = 30.0
LINE_EVERY = 5.0


def _fmt_eta(seconds):
    if seconds is None:
        return "-"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def train_headless(request) -> int:
    """Train ``request`` (a core.orchestrate.RunRequest) on this thread, printing progress."""
    from rnn_tui.core import events as ev
    from rnn_tui.core.compare import table_lines
    from rnn_tui.core.distributed import from_environment, shutdown
    from rnn_tui.core.orchestrate import Orchestrator, signal_reason

    distributed = from_environment()
    out = sys.stdout
    if distributed is not None and not distributed.is_main:
        view = _SilentView()
    else:
        view = _RichView() if out.isatty() else _PlainView(out)
    orchestrator = Orchestrator(request, view.handle, report_interval=0.5, distributed=distributed,
                                progress=LoadProgress())
    received = {}

    def on_signal(signum, frame):
        received["signal"] = signum
        orchestrator.stop(signal_reason(signum), signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    try:
        results = orchestrator.run()
        failed = [r for r in results if isinstance(r, ev.Failed)]
        if distributed is not None and not failed and results:
            distributed.barrier()  # leave together: no rank tears the group down under another
        if orchestrator.compare is not None:
            for line in table_lines(orchestrator.compare.rows):
                view.write(line)
    finally:
        view.close()
        shutdown()
    for result in failed:
        print(f"rnn-tui: training failed: {result.message}; {result.advice}"
              + (f" (checkpoint: {result.checkpoint})" if result.checkpoint else "")
              + (f" (log: {result.log_path})" if result.log_path else ""), file=sys.stderr)
    if distributed is None or distributed.is_main:
        for path in orchestrator.run_dirs:
            _safe_print(out, path)
    if "signal" in received:
        return 128 + received["signal"]
    return 1 if failed else 0


class LoadProgress:
    """A line per quarter while a large corpus loads (the orchestrator reports only large ones)."""

    def __init__(self, out=None):
        self.out = out or sys.stdout
        self.next_mark = 0.25

    def __call__(self, done: int, total: int) -> None:
        if not total:
            return
        fraction = done / total
        if fraction >= self.next_mark:
            _safe_print(self.out, f"reading the corpus: {fraction:.0%} of {total // 2 / 1e6:,.0f} MB (read twice)")
            while self.next_mark <= fraction:
                self.next_mark += 0.25


def _safe_print(out, line: str) -> None:
    try:
        out.write(line + "\n")
        out.flush()
    except OSError:
        pass  # the terminal is gone (SIGHUP); the run is saved anyway


class _PlainView:
    """One line every few seconds; a sample now and then; nothing that needs a terminal."""

    def __init__(self, out):
        self.out = out
        self.last_line = 0.0
        self.last_sample = 0.0
        self.val = None
        self.last_progress = None

    def write(self, line: str) -> None:
        _safe_print(self.out, line)

    def handle(self, event) -> None:
        from rnn_tui.core import events as ev

        if isinstance(event, ev.CompareStarted):
            self.write(f"--- compare {event.index + 1}/{event.total}: {event.cell} ---")
        elif isinstance(event, ev.Started):
            c = event.config
            self.write(f"run {event.run_name}: {c['cell']} {c['layers']}x{c['hidden_size']}, {event.parameters:,} parameters, "
                       f"{event.device_name}, {event.precision}, vocab {event.vocab_size}, {event.train_chars:,} train chars")
            for note in event.notes:
                self.write(f"note: {note}")
        elif isinstance(event, ev.Progress):
            self.last_progress = event
            now = time.monotonic()
            if now - self.last_line >= LINE_EVERY:
                self.last_line = now
                self.write(self.progress_line(event))
        elif isinstance(event, ev.EvalResult):
            self.val = event.val_loss
            self.write(f"step {event.step}: val loss {event.val_loss:.4f} (best {event.best_val_loss:.4f})")
        elif isinstance(event, ev.Sample):
            now = time.monotonic()
            if now - self.last_sample >= SAMPLE_PRINT_EVERY:
                self.last_sample = now
                self.write(f"sample at step {event.step} (temperature {event.temperature:g}):")
                self.write(_printable(event.text))
        elif isinstance(event, ev.Notice):
            self.write(f"{event.level}: {event.message}")
        elif isinstance(event, ev.Saved) and event.reason != "best":
            self.write(f"saved {event.path} (step {event.step}, {event.reason})")
        elif isinstance(event, ev.Finished):
            if self.last_progress is not None:
                self.write(self.progress_line(self.last_progress))
            best = "-" if event.best_val_loss is None else f"{event.best_val_loss:.4f}"
            self.write(f"finished at step {event.step} ({event.reason}); best val loss {best}")

    def progress_line(self, p) -> str:
        loss = p.losses[-1][1] if p.losses else float("nan")
        val = "-" if self.val is None else f"{self.val:.4f}"
        return (f"step {p.step} | epoch {p.epoch} {p.epoch_fraction:.0%} | loss {loss:.4f} | val {val} | "
                f"{p.chars_per_sec:,.0f} chars/s | lr {p.lr:.2e} | grad {p.grad_norm:.2f} | ETA {_fmt_eta(p.eta)}")

    def close(self) -> None:
        pass


class _SilentView:
    """Ranks other than 0 under torchrun: rank 0 speaks for all."""

    def handle(self, event) -> None:
        pass

    def write(self, line: str) -> None:
        pass

    def close(self) -> None:
        pass


class _RichView(_PlainView):
    """A live status line under the scrolling log, on a terminal."""

    def __init__(self):
        from rich.console import Console
        from rich.live import Live

        self.console = Console(highlight=False)
        super().__init__(sys.stdout)
        self.live = Live("", console=self.console, refresh_per_second=4, transient=True)
        self.live.start()

    def write(self, line: str) -> None:
        from rich.text import Text

        try:
            self.console.print(Text(line))
        except OSError:
            pass

    def handle(self, event) -> None:
        from rich.text import Text

        from rnn_tui.core import events as ev

        if isinstance(event, ev.Progress):
            self.last_progress = event
            try:
                self.live.update(Text(self.progress_line(event), style="bold"))
            except OSError:
                pass
            return
        super().handle(event)

    def close(self) -> None:
        try:
            self.live.stop()
        except OSError:
            pass


def _printable(text: str) -> str:
    """Control characters as visible symbols, so a sample never changes the terminal's state."""
    from rnn_tui.core.textutil import visible

    return visible(text)

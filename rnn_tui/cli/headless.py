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


def train_headless(request, on_hangup: str | None = None, service: dict | None = None) -> int:
    """Train ``request`` (a core.orchestrate.RunRequest) on this thread, printing progress.

    Viewers may attach (`rnn-tui attach`): rank 0 serves the run on a socket in its folder.
    ``on_hangup="continue"``: a hang-up leaves the training going (the output goes quiet).
    ``service``: this is the trainer process the app started (see ``serve_run``).
    """
    import queue

    from rnn_tui.core import events as ev
    from rnn_tui.core.compare import table_lines
    from rnn_tui.core.distributed import from_environment, shutdown
    from rnn_tui.core.orchestrate import Orchestrator, signal_reason
    from rnn_tui.core.service import LiveServer

    distributed = from_environment()
    out = sys.stdout
    view: _SilentView | _PlainView | _RichView
    if distributed is not None and not distributed.is_main:
        view = _SilentView()
    elif service is not None:
        view = _PlainView(out)
    else:
        view = _RichView() if out.isatty() else _PlainView(out)
    commands: queue.Queue = queue.Queue()
    server = None
    log = _RunLog() if service is not None else None

    def sink(event) -> None:
        if log is not None:
            log.follow(event)
        if server is not None:
            server.publish(event)
        view.handle(event)

    progress = LoadProgress(publish=lambda e: server.publish(e) if server is not None else None)
    orchestrator = Orchestrator(
        request,
        sink,
        report_interval=(service or {}).get("report_interval", 0.5),
        commands=commands,
        distributed=distributed,
        progress=progress,
    )
    if distributed is None or distributed.is_main:
        server = LiveServer(
            commands,
            orchestrator.stop,
            validation=lambda: _validation_text(orchestrator),
            compare=request.compare,
            distributed=distributed is not None,
        )
        server.start(first_viewer=(service or {}).get("viewer"))
    received = {}

    def on_signal(signum, frame):
        if signum == signal.SIGHUP and (on_hangup == "continue" or service is not None):
            view.gone = True  # nobody reads this terminal now; the training goes on, attachable
            return
        received["signal"] = signum
        orchestrator.stop(signal_reason(signum), signum)  # a stop while loading exits as this signal

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    failed = []
    try:
        results = orchestrator.run()
        failed = [r for r in results if isinstance(r, ev.Failed)]
        if distributed is not None and not failed and results:
            distributed.barrier()  # leave together: no rank tears the group down under another
        if orchestrator.compare is not None:
            for line in table_lines(orchestrator.compare.rows):
                view.write(line)
    except BaseException as exc:
        if server is not None:
            server.publish(_setup_error(exc, orchestrator))
        raise
    finally:
        if server is not None:
            server.close()
        view.close()
        shutdown()
    for result in failed:
        _safe_print(
            sys.stderr,
            f"rnn-tui: training failed: {result.message}; {result.advice}"
            + (f" (checkpoint: {result.checkpoint})" if result.checkpoint else "")
            + (f" (log: {result.log_path})" if result.log_path else ""),
        )
    if distributed is None or distributed.is_main:
        for path in orchestrator.run_dirs:
            _safe_print(out, path)
    if "signal" in received:
        return 128 + received["signal"]
    return 1 if failed else 0


def serve_run(spec_text: str) -> int:
    """The trainer process the app (or ``--detach``) started: the headless face, writing its lines
    to the run's trainer.log and serving viewers, the first of them on an inherited socket."""
    import json
    import socket

    from rnn_tui.core.priority import lower_thread_priority
    from rnn_tui.core.service import request_from_json

    spec = json.loads(spec_text)
    request = request_from_json(spec["request"])
    if spec.get("argv"):
        sys.argv = list(spec["argv"])  # config.json records what the user typed
    viewer = socket.socket(fileno=spec["viewer_fd"]) if spec.get("viewer_fd") is not None else None
    # The screen of a viewer on this machine gets a core the moment it needs one (see core.priority).
    lower_thread_priority(5)
    return train_headless(request, service={"viewer": viewer, "report_interval": spec.get("report_interval", 0.5)})


def _validation_text(orchestrator) -> str | None:
    """The start of the validation text, for a viewer's gate view (it may not read the corpus itself)."""
    from rnn_tui.core.service import VALIDATION_CHARS

    prepared = orchestrator.prepared
    if prepared is None:
        return None
    corpus = prepared.corpus
    stop = min(corpus.n_chars, corpus.split_at + VALIDATION_CHARS)
    start = corpus.split_at if stop - corpus.split_at >= 50 else max(0, stop - VALIDATION_CHARS)
    return corpus.text(start, stop)


def _setup_error(exc: BaseException, orchestrator):
    """What a viewer shows for a run that could not start: the command line's one line."""
    from rnn_tui.core.errors import UserError
    from rnn_tui.core.wire import SetupError

    if isinstance(exc, UserError):
        return SetupError(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__, exc.exit_code)
    if isinstance(exc, KeyboardInterrupt):
        return SetupError("interrupted", 130)
    return SetupError(f"could not prepare the run: {type(exc).__name__}: {exc}".splitlines()[0], 1)


class _RunLog:
    """The trainer process writes its lines (and any traceback) to the run's trainer.log,
    from the moment the run folder exists; before that there is nothing to keep."""

    def __init__(self):
        self.path = None

    def follow(self, event) -> None:
        import os

        from rnn_tui.core import events as ev
        from rnn_tui.core.live import LOG_FILE

        if self.path is not None or not isinstance(event, ev.Started):
            return
        self.path = os.path.join(event.run_dir, LOG_FILE)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:
            return
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)


class LoadProgress:
    """A line per quarter while a large corpus loads (the orchestrator reports only large ones);
    ``publish`` gets a Notice per tenth, for viewers."""

    def __init__(self, out=None, publish=None):
        self.out = out or sys.stdout
        self.next_mark = 0.25
        self.publish = publish
        self.tenth = -1

    def __call__(self, done: int, total: int) -> None:
        if not total:
            return
        fraction = done / total
        if self.publish is not None and int(fraction * 10) != self.tenth:
            from rnn_tui.core.events import Notice

            self.tenth = int(fraction * 10)
            self.publish(Notice("info", f"reading the corpus: {fraction:.0%} of {total // 2 / 1e6:,.0f} MB"))
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

    gone = False  # the terminal hung up and the training goes on: write nothing more

    def __init__(self, out):
        self.out = out
        self.last_line = 0.0
        self.last_sample = 0.0
        self.val = None
        self.last_progress = None

    def write(self, line: str) -> None:
        if not self.gone:
            _safe_print(self.out, line)

    def handle(self, event) -> None:
        from rnn_tui.core import events as ev

        if self.gone:
            return
        if isinstance(event, ev.CompareStarted):
            self.write(f"--- compare {event.index + 1}/{event.total}: {event.cell} ---")
        elif isinstance(event, ev.Started):
            c = event.config
            self.write(
                f"run {event.run_name}: {c['cell']} {c['layers']}x{c['hidden_size']}, {event.parameters:,} parameters, "
                f"{event.device_name}, {event.precision}, vocab {event.vocab_size}, {event.train_chars:,} train chars"
            )
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
        elif isinstance(event, ev.LearningRateChanged):
            self.write(
                f"learning rate x{event.factor:g} from step {event.step}: {event.lr:.2e} (x{event.scale:g} of --lr)"
            )
        elif isinstance(event, ev.Finished):
            if self.last_progress is not None:
                self.write(self.progress_line(self.last_progress))
            best = "-" if event.best_val_loss is None else f"{event.best_val_loss:.4f}"
            self.write(f"finished at step {event.step} ({event.reason}); best val loss {best}")

    def progress_line(self, p) -> str:
        loss = p.losses[-1][1] if p.losses else float("nan")
        val = "-" if self.val is None else f"{self.val:.4f}"
        return (
            f"step {p.step} | epoch {p.epoch} {p.epoch_fraction:.0%} | loss {loss:.4f} | val {val} | "
            f"{p.chars_per_sec:,.0f} chars/s | lr {p.lr:.2e} | grad {p.grad_norm:.2f} | ETA {_fmt_eta(p.eta)}"
        )

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

        if self.gone:
            return
        try:
            self.console.print(Text(line))
        except OSError:
            pass

    def handle(self, event) -> None:
        from rich.text import Text

        from rnn_tui.core import events as ev

        if self.gone:
            self.close()  # here, not in the signal handler: the console may be mid-write
            return
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
        except (OSError, ValueError):
            pass


def _printable(text: str) -> str:
    """Control characters as visible symbols, so a sample never changes the terminal's state."""
    from rnn_tui.core.textutil import visible

    return visible(text)

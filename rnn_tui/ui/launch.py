"""Start the app: set the redraw rate before Textual loads, then run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

SSH_REDRAW_S = 2.0  # over SSH a viewer redraws the chart every 2 s (reports merged, no loss point lost)


# Textual draws a changed screen on a frame timer. After a frame drawn from idle (a report, the
# stats clock) its next tick comes one to two periods later, so a key pressed then waited up to 33 ms
# at 60 frames a second before anything was drawn (measured: the slowest 5% of key presses). The
# cap only spaces frames: they are drawn when something changed, so a faster cap costs no bytes and
# no CPU while training (measured, bench/attach.py); it is what a key waits for.
LOCAL_FPS = 240  # a key waits at most ~8 ms for its frame
SSH_FPS = 30  # over SSH a slow link should carry state, not animation: at most ~67 ms


def _configure_environment() -> None:
    os.environ.setdefault("TEXTUAL_FPS", str(SSH_FPS if os.environ.get("SSH_CONNECTION") else LOCAL_FPS))


def _makers(on_hangup: str, in_process: bool):
    """(start a bridge for a request, attach a bridge to a live run): how this app runs trainers."""
    ssh = bool(os.environ.get("SSH_CONNECTION"))
    interval = 1.0 if ssh else 0.5  # chart redraws per second: bytes on the wire
    min_interval = SSH_REDRAW_S if ssh else 0.0

    def make(app, request):
        if in_process:
            from rnn_tui.ui.bridge import TrainerBridge

            return TrainerBridge(app, request, report_interval=interval)
        from rnn_tui.ui.remote import RemoteBridge

        return RemoteBridge.launch(
            app, request, report_interval=interval, on_hangup=on_hangup, min_interval=min_interval
        )

    def attach(app, live):  # a viewer's hang-up never stops a training someone else may be watching
        from rnn_tui.ui.remote import RemoteBridge

        return RemoteBridge.attach(app, live, on_hangup="continue", min_interval=min_interval)

    return make, attach


def run_train_app(request, on_hangup: str = "stop", in_process: bool = False) -> int:
    """The app over a training of ``request`` (a checked core.orchestrate.RunRequest).

    The trainer runs in a process of its own (core.service), so leaving the app may leave it
    running; ``in_process`` keeps it on a thread of this one (then leaving always saves and stops).
    """
    _configure_environment()
    from rnn_tui.ui.app import RnnTuiApp

    make, attach = _makers(on_hangup, in_process)
    root = _root(request.runs_dir)
    return _run_app(
        RnnTuiApp(
            bridge_factory=lambda app: make(app, request),
            compare=bool(request.compare),
            runs_root=root,
            bridge_maker=make,
            attach_maker=attach,
        )
    )


def run_home_app(runs_dir: str | None, on_hangup: str = "stop", in_process: bool = False) -> int:
    """The playground's home screen: the saved runs, and new runs started from a form."""
    _configure_environment()
    from rnn_tui.ui.app import RnnTuiApp

    make, attach = _makers(on_hangup, in_process)
    return _run_app(RnnTuiApp(runs_root=_root(runs_dir), bridge_maker=make, attach_maker=attach, home=True))


def _root(runs_dir: str | None):
    from rnn_tui.core.paths import runs_dir as default_runs_dir

    return default_runs_dir(runs_dir)


def run_attach_app(live) -> int:
    """The app over a run another process trains (``live``: a core.live.LiveRun)."""
    _configure_environment()
    from rnn_tui.ui.app import RnnTuiApp

    make, attach = _makers("continue", False)
    app = RnnTuiApp(
        bridge_factory=lambda app: attach(app, live),
        compare=bool(live.compare),
        runs_root=Path(live.run_dir).parent,
        bridge_maker=make,
        attach_maker=attach,
    )
    app.attached = True
    return _run_app(app)


def _run_app(app) -> int:
    from rnn_tui.ui.base import terminal_alive
    from rnn_tui.ui.exit_guard import ExitGuard

    guard = ExitGuard(
        app.exiting,
        lambda: app.bridge.done if app.bridge is not None else None,
        lambda: app.return_code if app.return_code is not None else app.exit_code,
        terminal_alive=terminal_alive,
    )
    guard.start()
    try:
        app.run()
    finally:
        guard.returned.set()
        _finish_training(app.bridge)
    code = app.return_code or 0
    if code != 2:  # 2: the app already said what was wrong
        for bridge in app.bridges:
            _say_where(bridge)
    return code


def _finish_training(bridge) -> None:
    """However the app ended, the trainer saves and stops before the process goes.

    The app normally waits for the save itself; this is the net under it (an exception, the grace
    timer, a way out we never saw). Signals now only repeat the request: a second Ctrl+C while the
    checkpoint is written must not abort the write.
    """
    import signal

    if bridge is None or bridge.done.is_set() or getattr(bridge, "left_running", False):
        return
    bridge.stop(bridge.stop_reason or "quit")
    previous = {}

    def again(signum, frame):
        bridge.stop(bridge.stop_reason or "quit")

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        try:
            previous[sig] = signal.signal(sig, again)
        except (OSError, ValueError):
            pass
    _safe_write(sys.stderr, "rnn-tui: saving the run\u2026\n")
    try:
        while not bridge.done.wait(0.2):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _say_where(bridge) -> None:
    """The last words: where each run is and how to go on, as the headless face ends."""
    if bridge is None:
        return
    from rnn_tui.core import events as ev
    from rnn_tui.core.textutil import home_relative

    if getattr(bridge, "left_running", False):
        _say_still_running(bridge)
        return
    for result in bridge.results:
        if not result.run_dir:
            continue
        name = os.path.basename(result.run_dir)
        if isinstance(result, ev.Finished):
            best = "" if result.best_val_loss is None else f", best val loss {result.best_val_loss:.4f}"
            head = f"rnn-tui: run {name} saved at step {result.step:,} ({result.reason}{best})"
        else:
            head = f"rnn-tui: run {name} stopped: {result.message}"
        _safe_write(
            sys.stdout,
            f"{head}\n  folder:   {home_relative(result.run_dir)}\n"
            f"  continue: rnn-tui --resume {name}\n  sample:   rnn-tui sample {name}\n",
        )


def _say_still_running(bridge) -> None:
    """Nothing is left running unseen: say what goes on, and how to come back or stop it."""
    name = bridge.run_name
    pid = f" (PID {bridge.pid})" if bridge.pid else ""
    if name is None:
        _safe_write(
            sys.stdout,
            f"rnn-tui: the training goes on in the background{pid}, still preparing its run\n"
            f"  watch: rnn-tui attach   (once it has started)\n  list:  rnn-tui runs\n",
        )
        return
    _safe_write(
        sys.stdout,
        f"rnn-tui: run {name} goes on training in the background{pid}\n"
        f"  watch: rnn-tui attach {name}\n  stop:  rnn-tui stop {name}\n",
    )


def _safe_write(stream, text: str) -> None:
    try:
        stream.write(text)
        stream.flush()
    except (OSError, ValueError):
        pass  # the terminal is gone (a hang-up): the run is saved all the same


def run_gates_app(run: str, runs_dir: str | None) -> int:
    return _run_viewer(run, runs_dir, "gates")


def run_sample_app(run: str, runs_dir: str | None, settings: dict) -> int:
    return _run_viewer(run, runs_dir, "sample", settings)


def _run_viewer(run: str, runs_dir: str | None, screen: str, settings: dict | None = None) -> int:
    from rnn_tui.core.errors import UserError

    if not (sys.stdout.isatty() and sys.stdin.isatty()):
        raise UserError("this view needs a terminal; use `rnn-tui trace` or `rnn-tui sample --length N` in scripts")
    snapshot = load_snapshot(run, runs_dir)
    _configure_environment()
    from rnn_tui.ui.viewer import ViewerApp

    app = ViewerApp(snapshot, screen, settings or {})
    app.run()
    return app.return_code or 0


def load_snapshot(run: str, runs_dir: str | None):
    from rnn_tui.core.checkpoint import checked_state, load_checkpoint
    from rnn_tui.core.events import Snapshot
    from rnn_tui.core.paths import runs_dir as default_runs_dir
    from rnn_tui.core.runs import resolve_run

    found, path = resolve_run(run, default_runs_dir(runs_dir))
    state = checked_state(load_checkpoint(path), path)  # a crafted file: one line, not a traceback in the app
    snapshot = Snapshot(int(state.get("step", 0)), state["config"], state["vocab"], state["model"])
    snapshot_run_dir = str(found.path) if found is not None else None
    return snapshot, snapshot_run_dir

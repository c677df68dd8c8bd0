"""Start the app: set the redraw rate before Textual loads, then run."""

from __future__ import annotations

import os
import sys


def _configure_environment() -> None:
    # Fewer redraws over SSH: a slow link should carry state, not animation.
    os.environ.setdefault("TEXTUAL_FPS", "10" if os.environ.get("SSH_CONNECTION") else "60")


def run_train_app(args: dict) -> int:
    from rnn_tui.cli import split_options
    from rnn_tui.core.config import TrainConfig

    corpus, session, overrides = split_options(args)
    TrainConfig().with_changes(**overrides).validated()  # option errors before any screen
    if corpus is not None:
        from pathlib import Path

        from rnn_tui.core.paths import check_regular_file

        check_regular_file(Path(corpus))
    _configure_environment()
    from rnn_tui.ui.app import RnnTuiApp
    from rnn_tui.ui.bridge import TrainerBridge

    interval = 1.0 if os.environ.get("SSH_CONNECTION") else 0.5  # chart redraws per second: bytes on the wire
    app = RnnTuiApp(bridge_factory=lambda a: TrainerBridge(a, corpus, session, overrides, report_interval=interval),
                    compare=bool(session.get("compare")))
    app.run()
    return app.return_code or 0


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
    from rnn_tui.core.events import Snapshot
    from rnn_tui.core.paths import runs_dir as default_runs_dir
    from rnn_tui.core.runs import load_checkpoint, resolve_run

    found, path = resolve_run(run, default_runs_dir(runs_dir))
    state = load_checkpoint(path)
    snapshot = Snapshot(int(state.get("step", 0)), state["config"], state["vocab"], state["model"])
    snapshot_run_dir = str(found.path) if found is not None else None
    return snapshot, snapshot_run_dir

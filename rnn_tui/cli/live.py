"""Runs that train in the background: ``--detach``, ``rnn-tui attach`` and ``rnn-tui stop``."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

from rnn_tui.core.errors import RunError, UserError

SKIP = frozenset({"Snapshot"})  # these commands need no weights (and so no torch)


def _say(line: str, stream=None) -> None:
    stream = stream or sys.stderr
    try:
        stream.write(line + "\n")
        stream.flush()
    except OSError:
        pass


def detach(request) -> int:
    """Start the trainer process, wait until its run has started (or failed to), print the name."""
    import signal

    from rnn_tui.core import commands as cmd
    from rnn_tui.core import events as ev
    from rnn_tui.core import wire
    from rnn_tui.core.service import start_service

    sock, process = start_service(request)
    interrupted = []

    def on_signal(signum, frame):  # Ctrl+C while the corpus loads: the run never starts
        interrupted.append(signum)
        try:
            sock.sendall(wire.encode(cmd.Stop("interrupted")))
        except OSError:
            pass

    previous = signal.signal(signal.SIGINT, on_signal)
    started = None
    try:
        for record in _records(sock):
            if isinstance(record, wire.SetupError):
                raise UserError(record.message) if record.exit_code == 2 else _Failed(record.message, record.exit_code)
            if isinstance(record, ev.Notice):  # corpus loading, warnings: what the app would show
                _say(f"rnn-tui: {record.message}")
            if isinstance(record, ev.Failed):
                raise _Failed(f"training failed: {record.message}; {record.advice}", 1)
            if isinstance(record, ev.Started):
                started = record
                break
    except _Failed as failed:
        _say(f"rnn-tui: error: {failed.message}")
        return failed.code
    finally:
        signal.signal(signal.SIGINT, previous)
        sock.close()  # the trainer goes on: this was only its first viewer
    if started is None:
        if interrupted:
            _say("rnn-tui: interrupted before the run started; nothing was written")
            return 130
        _say(
            f"rnn-tui: error: the training process ended before the run started (exit code {process.poll()}); "
            "run the same command with --headless to see why"
        )
        return 1
    name = started.run_name
    _say(name, sys.stdout)  # stdout holds the name alone: NAME=$(rnn-tui corpus.txt --detach)
    ref = name[: -len(request.compare[0]) - 1] if request.compare else name  # a comparison: all its runs
    what = f"the comparison {ref}-{{{','.join(request.compare)}}}" if request.compare else f"run {name}"
    _say(
        f"rnn-tui: {what} trains in the background (PID {process.pid})\n"
        f"  watch: rnn-tui attach {ref}\n  stop:  rnn-tui stop {ref}\n  log:   {Path(started.run_dir) / 'trainer.log'}"
    )
    return 0


class _Failed(Exception):
    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.message, self.code = message, code


def _records(sock: socket.socket, timeout: float | None = None):
    """The records a trainer sends, until it closes (Snapshots skipped: no torch needed)."""
    from rnn_tui.core import wire

    reader = wire.FrameReader(wire.EVENTS, skip=SKIP)
    sock.settimeout(timeout)
    while True:
        try:
            data = sock.recv(1 << 20)
        except TimeoutError:
            raise
        except OSError:
            return
        if not data:
            return
        yield from reader.stream(data)


# ---- attach and stop -----------------------------------------------------------------------------


def find_live(ref: str | None, runs_dir: str | None):
    """The live run RUN names (no RUN: the most recently started one), or one clear error line."""
    from rnn_tui.core.live import live_runs
    from rnn_tui.core.paths import runs_dir as default_runs_dir

    if ref is None:
        root = default_runs_dir(runs_dir)
        found = live_runs(root)
        if not found:
            raise RunError(
                f"no run is training now in {root}; `rnn-tui runs` lists the saved ones "
                "(`rnn-tui --resume RUN` continues one)"
            )
        serving = [r for r in found if r.socket is not None]
        return (serving or found)[0]
    run, live = _resolve(ref, runs_dir)
    if live is None:
        raise RunError(f"{run.name} is not training now; `rnn-tui --resume {run.name}` continues it")
    return live


def _resolve(ref: str, runs_dir: str | None):
    """(run, its LiveRun or None): a unique start of a live run's name first (a comparison's runs share
    one), then any run by name, prefix or folder."""
    from rnn_tui.core.live import live_run, live_runs
    from rnn_tui.core.paths import run_name_problem
    from rnn_tui.core.paths import runs_dir as default_runs_dir
    from rnn_tui.core.runs import Run, find_run, is_path_ref

    root = default_runs_dir(runs_dir)
    if not is_path_ref(ref) and not run_name_problem(ref) and not (root / ref).is_dir():
        matches = [r for r in live_runs(root) if r.name.startswith(ref)]
        if len(matches) == 1:
            return Run(matches[0].run_dir), matches[0]
        if len(matches) > 1:
            names = ", ".join(r.name for r in matches[:6])
            raise RunError(f"{ref!r} matches {len(matches)} live runs ({names}); type more of the name")
    run = find_run(ref, root)
    return run, live_run(run.path)


def _reachable(ref: str | None, runs_dir: str | None, seconds: float = 3.0):
    """The live run, once its socket answers: a compared run moves its socket to the next run's folder,
    and a trainer that is just starting has not opened it yet."""
    from rnn_tui.core.service import connect

    deadline = time.monotonic() + seconds
    while True:
        live = find_live(ref, runs_dir)
        if live.socket is not None:
            try:
                connect(live.socket, timeout=2.0).close()
                return live
            except OSError:
                pass
        if time.monotonic() > deadline:
            return live
        time.sleep(0.2)


def attach(args) -> int:
    from rnn_tui.cli.main import require_terminal

    live = _reachable(args.run, args.runs_dir)
    if live.socket is None:
        raise RunError(
            f"{live.name} is training (PID {live.pid or 'unknown'}) in a process that serves no viewers "
            f"(an older rnn-tui, or the app with --in-process); watch its folder {live.run_dir}"
        )
    require_terminal("watch its progress in the run's trainer.log or metrics.jsonl")
    from rnn_tui.ui.launch import run_attach_app

    return run_attach_app(live)


def stop(args) -> int:
    """Ask the run's trainer to save and stop; wait until it has let go of the run."""
    from rnn_tui.core import commands as cmd
    from rnn_tui.core import events as ev
    from rnn_tui.core import wire
    from rnn_tui.core.live import lock_held
    from rnn_tui.core.service import connect

    run, live = _resolve(args.run, args.runs_dir)
    if live is None:
        _say(f"rnn-tui: {run.name} is not training; nothing to stop (its last checkpoint is in {run.path})")
        return 0
    deadline = time.monotonic() + args.timeout
    results = []
    sock = None
    if live.socket is not None:
        try:
            sock = connect(live.socket)
            sock.sendall(wire.encode(cmd.Stop("rnn-tui stop")))
        except OSError:
            sock = None
    if sock is None:  # a trainer that serves no viewers still saves and stops on SIGTERM
        if not live.pid:
            raise RunError(f"{run.name} is training, but its process is unknown; stop it where it runs")
        import signal

        try:
            os.kill(live.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        except PermissionError:
            raise RunError(f"{run.name} is trained by PID {live.pid}, which this user may not stop") from None
    _say(f"rnn-tui: stopping {run.name} (PID {live.pid or 'unknown'}); it saves first\u2026")
    if sock is not None:
        try:
            for record in _records(sock, timeout=max(1.0, deadline - time.monotonic())):
                if isinstance(record, (ev.Finished, ev.Failed)):
                    results.append(record)
        except TimeoutError:
            pass
        finally:
            sock.close()
    while lock_held(run.path):
        if time.monotonic() > deadline:
            raise RunError(f"{run.name} is still training after {args.timeout:.0f} s; try again, or `kill {live.pid}`")
        time.sleep(0.1)
    for result in results:
        name = os.path.basename(result.run_dir or run.name)
        if isinstance(result, ev.Finished):
            _say(
                f"rnn-tui: {name} saved at step {result.step:,} and stopped; `rnn-tui --resume {name}` continues it",
                sys.stdout,
            )
        else:
            _say(f"rnn-tui: {name} stopped: {result.message}; {result.advice}", sys.stdout)
    if not results:
        _say(f"rnn-tui: {run.name} stopped; `rnn-tui --resume {run.name}` continues it", sys.stdout)
    return 1 if any(isinstance(r, ev.Failed) for r in results) else 0

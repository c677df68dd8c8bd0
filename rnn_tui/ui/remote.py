"""The app's side of a trainer in another process: the same surface as ``TrainerBridge``.

Events arrive as frames on a Unix socket (``core.wire``) and are posted as the same Textual
messages the thread bridge posts; commands go back the same way. The trainer is either one this
app started (``launch``: a socket pair from the first moment) or a live run found on disk
(``attach``: the run folder's live.sock). A connection that ends without the run's end means the
trainer process died: the app is told so, with the command that resumes the run.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

from rnn_tui.core import commands as cmd
from rnn_tui.core import events as ev
from rnn_tui.core import wire
from rnn_tui.ui.messages import CompareMeasured, SetupFailed, SnapshotReady, TrainerEvent

RECONNECT_S = 3.0  # how long to try the run's socket again when a live trainer dropped us
# The first weights wait this long before torch is loaded to read them: loading it competes with
# drawing the run's history (the views that need weights say "no weights yet" meanwhile).
FIRST_WEIGHTS_AFTER_S = 1.5
# torch threads for this process's views (gate trace, sampling, gradient flow). The trainer's own
# process keeps the cores busy, and a view's work spread over several threads leaves OpenMP workers
# spinning against it (core/threads.py): the first gate trace of a 2x256 LSTM beside its training
# took 19.5 s on 2 threads and 0.09 s on one (2-core machine). A view's work is small: one thread.
VIEW_THREADS = 1


class _ValidationText:
    """The corpus as the app's gate view reads it, holding only the validation text the trainer sent."""

    def __init__(self, text: str):
        self._text = text
        self.n_chars = len(text)
        self.split_at = 0

    def text(self, start: int, stop: int) -> str:
        return self._text[start:stop]


class RemoteBridge:
    can_leave_running = True  # the app may quit and leave the training going

    def __init__(
        self,
        app,
        request=None,
        *,
        socket_path: Path | None = None,
        run_dir: str | None = None,
        pid: int | None = None,
        report_interval: float = 0.5,
        on_hangup: str = "continue",
        min_interval: float = 0.0,
    ):
        from rnn_tui.core.orchestrate import RunRequest

        self.app = app
        self.request = request if request is not None else RunRequest()
        self.launching = request is not None and socket_path is None
        self.socket_path = Path(socket_path) if socket_path else None
        self.run_dir = run_dir
        self.pid = pid
        self.report_interval = report_interval
        self.on_hangup = on_hangup
        self.min_interval = min_interval  # merge Progress reports closer than this (fewer redraws over SSH)
        self.process: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self.done = threading.Event()
        self.results: list = []
        self.prepared = None
        self.stop_reason: str | None = None
        self.left_running = False
        self.started: ev.Started | None = None
        self.last_step = 0
        self._ended = False
        self._pending_progress: ev.Progress | None = None
        self._last_post = 0.0
        self._send_lock = threading.Lock()
        self._unsent: list[bytes] = []
        self._began = False
        self._first_weights: wire.Deferred | None = None
        self._weights_thread: threading.Thread | None = None
        self._weights_ready = "torch" in sys.modules  # loaded already: no reason to wait
        self._weights_lock = threading.Lock()
        self._view_threads_set = False

    @classmethod
    def launch(cls, app, request, **options) -> RemoteBridge:
        """Start a trainer process for ``request`` and watch it."""
        return cls(app, request, **options)

    @classmethod
    def attach(cls, app, live, **options) -> RemoteBridge:
        """Watch ``live`` (a core.live.LiveRun): a run another process trains."""
        from rnn_tui.core.orchestrate import RunRequest

        bridge = cls(app, None, socket_path=live.socket, run_dir=str(live.run_dir), pid=live.pid, **options)
        bridge.request = RunRequest(compare=tuple(live.compare))
        return bridge

    # ---- the surface the app uses ----------------------------------------------------------
    def start(self) -> None:
        if self._began:  # once: a second start would launch a second trainer on the same run
            return
        self._began = True
        if self.launching:
            from rnn_tui.core.service import start_service

            try:
                sock, self.process = start_service(self.request, self.report_interval)
            except OSError as exc:
                self._fail_setup(f"could not start the trainer process ({exc.strerror or exc})", 1)
                self.done.set()
                return
            self.pid = self.process.pid
            self._connected(sock)
        threading.Thread(target=self._work, name="rnn-tui-remote", daemon=True).start()

    def send(self, command) -> None:
        data = wire.encode(command)
        with self._send_lock:
            if self.sock is None:
                self._unsent.append(data)
                return
            try:
                self.sock.sendall(data)
            except OSError:
                pass  # the reader sees the connection end and says why

    def stop(self, reason: str = "stopped") -> None:
        """Save and stop the training (the whole request: a comparison's later runs never start)."""
        self.stop_reason = reason
        self.send(cmd.Stop(reason))
        if not self._began:
            self.done.set()  # never started: nothing trains

    def detach(self) -> None:
        """Leave the training running: close this viewer's connection only."""
        self.left_running = True
        with self._send_lock:
            sock = self.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        else:
            self.done.set()

    @property
    def run_name(self) -> str | None:
        return os.path.basename(self.run_dir) if self.run_dir else None

    # ---- the reader thread --------------------------------------------------------------------
    def _connected(self, sock: socket.socket) -> None:
        sock.settimeout(0.25)
        with self._send_lock:
            self.sock = sock
            unsent, self._unsent = self._unsent, []
            for data in unsent:
                try:
                    sock.sendall(data)
                except OSError:
                    break

    def _work(self) -> None:
        try:
            if self.sock is None:
                from rnn_tui.core.service import connect

                assert self.socket_path is not None, "attaching needs the run's socket"
                try:
                    self._connected(connect(self.socket_path))
                except OSError as exc:
                    self._fail_setup(
                        f"cannot reach the trainer of {self.run_name} ({exc.strerror or exc}); see `rnn-tui runs`", 2
                    )
                    return
            while not self._read_until_closed():
                if self.left_running or not self._reconnect():
                    break
            if not (self.left_running or self._ended):
                self._report_death()
        finally:
            self._flush_progress(force=True)
            self.done.set()
            if self.sock is not None:
                self.sock.close()
            if self.process is not None and not self.left_running:
                try:
                    self.process.wait(timeout=5)  # reap it: it has saved and is leaving
                except Exception:  # noqa: BLE001, S110 - it goes on in its own session
                    pass

    def _read_until_closed(self) -> bool:
        """Read and post until the connection ends; True if it ended as the run did."""
        reader = wire.FrameReader(wire.EVENTS, defer=frozenset({"Snapshot"}))
        sock = self.sock
        assert sock is not None, "reading starts once connected"
        while True:
            try:
                data = sock.recv(1 << 20)
            except TimeoutError:
                self._flush_progress()
                continue
            except OSError:
                data = b""
            if not data:
                return self._ended or self.left_running
            try:
                for record in reader.stream(data):
                    self._dispatch(record)
            except wire.WireError:
                return False  # not a frame of ours: try the run's socket afresh

    def _dispatch(self, record) -> None:
        if isinstance(record, wire.Deferred):
            self._weights(record)
            return
        if isinstance(record, wire.Welcome):
            self.pid = record.pid
            self.run_dir = record.run_dir or self.run_dir
            self.results = []  # a replay follows: it brings the results again
            self._ended = False
            return
        if isinstance(record, wire.SetupError):
            self._ended = True
            if self.stop_reason is None:  # a stop while the corpus loaded is no failure
                self._fail_setup(record.message, record.exit_code)
            return
        if isinstance(record, wire.RunText):
            self.prepared = _prepared(record.run_dir, record.validation)
            return
        if isinstance(record, ev.Progress):
            self.last_step = record.step
            if self.min_interval:
                self._merge_progress(record)
                return
        else:
            self._flush_progress(force=True)  # order kept: the report before what follows it
        if isinstance(record, ev.Snapshot):
            self.app.post_message(SnapshotReady(record))
            return
        if isinstance(record, ev.CompareMeasured):
            if record.cell is None:
                self._ended = True
            self.app.post_message(CompareMeasured(record.cell, record.decay))
            return
        if isinstance(record, ev.Started):
            self.started = record
            self.run_dir = record.run_dir
            if self.prepared is None or str(self.prepared.run.path) != record.run_dir:
                self.prepared = _prepared(record.run_dir, "")
        elif isinstance(record, (ev.Finished, ev.Failed)):
            self.results.append(record)
            if not self.request.compare or isinstance(record, ev.Failed):
                self._ended = True
        self.app.post_message(TrainerEvent(record))

    def _weights(self, frame: wire.Deferred) -> None:
        """Post a Snapshot; the first is read on a thread of its own a moment later (see FIRST_WEIGHTS_AFTER_S)."""
        with self._weights_lock:
            if self._weights_ready:
                self._post_weights(frame)
                return
            self._first_weights = frame  # the newest wins
            if self._weights_thread is not None:
                return
            self._weights_thread = threading.Thread(target=self._first_snapshot, name="rnn-tui-weights", daemon=True)
        self._weights_thread.start()

    def _first_snapshot(self) -> None:
        time.sleep(FIRST_WEIGHTS_AFTER_S)
        import torch  # noqa: F401 - the slow part, outside the lock

        with self._weights_lock:  # held while posting: a newer snapshot never arrives before this one
            frame, self._first_weights = self._first_weights, None
            self._weights_ready = True
            if frame is not None:
                self._post_weights(frame)

    def _post_weights(self, frame: wire.Deferred) -> None:
        if not self._view_threads_set:  # torch is loaded by now (see _weights_ready)
            import torch

            torch.set_num_threads(VIEW_THREADS)
            self._view_threads_set = True
        try:
            self.app.post_message(SnapshotReady(frame.decode_lazily()))  # weights read when used
        except wire.WireError:
            pass  # unreadable weights: the views keep the ones they have

    def _merge_progress(self, progress: ev.Progress) -> None:
        pending = self._pending_progress
        if pending is not None:
            from dataclasses import replace

            progress = replace(progress, losses=pending.losses + progress.losses)
        self._pending_progress = progress
        self._flush_progress()

    def _flush_progress(self, force: bool = False) -> None:
        pending = self._pending_progress
        if pending is None or not (force or time.monotonic() - self._last_post >= self.min_interval):
            return
        self._pending_progress = None
        self._last_post = time.monotonic()
        self.app.post_message(TrainerEvent(pending))

    def _reconnect(self) -> bool:
        """A trainer that is still alive dropped us (we read too slowly): come back in."""
        from rnn_tui.core.live import live_run
        from rnn_tui.core.service import connect

        if self.run_dir is None or (self.process is not None and self.process.poll() is not None):
            return False
        deadline = time.monotonic() + RECONNECT_S
        while time.monotonic() < deadline:
            live = live_run(Path(self.run_dir), clean=False)
            if live is None:
                return False
            if live.socket is not None:
                try:
                    sock = connect(live.socket, timeout=2.0)
                except OSError:
                    pass
                else:
                    old, self.sock = self.sock, None
                    if old is not None:
                        old.close()
                    self._connected(sock)
                    return True
            time.sleep(0.2)
        return False

    def _report_death(self) -> None:
        code = self.process.poll() if self.process is not None else None
        how = f" (exit code {code})" if code not in (None, 0) and code > 0 else (f" (signal {-code})" if code else "")
        if self.run_dir is None:  # no run folder yet (Started sets it)
            if self.stop_reason is None:
                self._fail_setup(
                    f"the training process ended before the run started{how}; "
                    "try `rnn-tui CORPUS --headless` to see why",
                    1,
                )
            return
        name = self.run_name
        run = Path(self.run_dir)
        from rnn_tui.core.live import LOG_FILE

        checkpoint = next((str(run / n) for n in ("latest.pt", "previous.pt") if (run / n).is_file()), None)
        log = str(run / LOG_FILE) if (run / LOG_FILE).is_file() else None
        failed = ev.Failed(
            self.last_step,
            f"training process ended unexpectedly{how}",
            f"continue it with: rnn-tui --resume {name}",
            str(run),
            checkpoint,
            log,
        )
        self.results.append(failed)
        self.app.post_message(TrainerEvent(failed))

    def _fail_setup(self, message: str, exit_code: int) -> None:
        self.app.post_message(SetupFailed(message, exit_code))


def _prepared(run_dir: str, validation: str):
    """What the app reads of a prepared run: the validation text, and where samples are saved."""
    path = Path(run_dir)
    return SimpleNamespace(
        corpus=_ValidationText(validation), run=SimpleNamespace(path=path, name=path.name, samples_dir=path / "samples")
    )

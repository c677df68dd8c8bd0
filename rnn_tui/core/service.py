"""Serve a training to any number of viewers over a Unix socket in its run folder.

The trainer thread only hands events to ``publish`` (a deque append and one byte on a wake-up
pipe); one server thread does the rest with ``selectors``: it encodes each event once, queues it
per viewer and writes as each socket allows. A viewer that reads slowly gets its Progress reports
merged (no loss point is lost) and only the newest Snapshot; one that stops reading altogether is
dropped. So no viewer, slow, stopped or killed, ever makes the trainer wait.

A late viewer first gets a ``Welcome`` and a replay of the run as it stands (see ``Replay``), then
the live stream. The socket is owner-only (mode 0600, and every peer's uid is checked); no TCP.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import queue
import selectors
import socket
import struct
import threading
import time
from pathlib import Path

from rnn_tui.core import commands as cmd
from rnn_tui.core import events as ev
from rnn_tui.core import wire
from rnn_tui.core.live import SOCKET_FILE, ShortPath, remove_live, write_live
from rnn_tui.core.replay import Replay

MERGE_AFTER = 32  # queued frames for one viewer before its Progress reports are merged
DROP_AFTER = 2000  # queued frames, with nothing taken for DROP_IDLE_S: a viewer that stopped reading is dropped
DROP_IDLE_S = 2.0
STALL_S = 60.0  # a viewer that takes nothing for this long is dropped whatever it has queued
VALIDATION_CHARS = 20_000  # as much as the gate view ever traces


class _Frame:
    """One record, encoded at most once, however many viewers it goes to."""

    __slots__ = ("event", "_data")

    def __init__(self, event):
        self.event = event
        self._data = None

    @property
    def data(self) -> bytes:
        if self._data is None:
            self._data = wire.encode(self.event)
        return self._data


class _Viewer:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.out: collections.deque[_Frame] = collections.deque()
        self.offset = 0  # bytes of out[0] already sent
        self.reader = wire.FrameReader(wire.COMMANDS, max_blob=0)
        self.closing = False  # write what is queued, then close
        self.last_sent = time.monotonic()

    def stalled(self, now: float) -> bool:
        """Too far behind to keep: it stopped reading (a slow reader that still takes bytes is kept)."""
        if not self.out:
            return False
        idle = now - self.last_sent
        return idle > STALL_S or (len(self.out) > DROP_AFTER and idle > DROP_IDLE_S)

    def queue(self, frame: _Frame) -> bool:
        """Queue ``frame``; False when the viewer is too far behind to keep."""
        event = frame.event
        if isinstance(event, ev.Snapshot):  # only the newest weights matter
            self._drop(lambda e: isinstance(e, ev.Snapshot))
        elif isinstance(event, ev.Progress) and len(self.out) > MERGE_AFTER:
            older = self._drop(lambda e: isinstance(e, ev.Progress))
            if older:
                losses = tuple(p for old in older for p in old.losses) + event.losses
                frame = _Frame(dataclasses.replace(event, losses=losses))
        self.out.append(frame)
        return not self.stalled(time.monotonic())

    def _drop(self, matches) -> list:
        """Remove the queued (not yet started) frames whose event ``matches``; their events, oldest first."""
        keep: collections.deque = collections.deque()
        dropped = []
        for index, frame in enumerate(self.out):
            if matches(frame.event) and not (index == 0 and self.offset):
                dropped.append(frame.event)
            else:
                keep.append(frame)
        self.out = keep
        return dropped


class LiveServer:
    """Serves events to viewers and takes their commands. ``stop(reason)`` ends the whole request."""

    def __init__(
        self, commands: queue.Queue, stop, validation=None, compare: tuple[str, ...] = (), distributed: bool = False
    ):
        self.commands = commands
        self.stop = stop
        self.validation = validation  # () -> str | None, the start of the validation text
        self.compare = tuple(compare)
        self.distributed = distributed  # torchrun: rank 0 serves, and may not pause or save alone
        self.replay = Replay(compare=bool(compare))
        self.state = "preparing"
        self.run_dir: Path | None = None
        self.listen_dir: Path | None = None
        self.started_at = time.time()
        self.inbox: collections.deque = collections.deque()
        self.viewers: dict[socket.socket, _Viewer] = {}
        self.listener: socket.socket | None = None
        self.selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._closing_at: float | None = None
        self.problems: list[str] = []
        self.thread = threading.Thread(target=self._serve, name="rnn-tui-live", daemon=True)

    # ---- from any thread ------------------------------------------------------------
    def start(self, first_viewer: socket.socket | None = None) -> LiveServer:
        """``first_viewer``: a connected socket (the app that started this process) served from the start."""
        self.selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        if first_viewer is not None:
            self._add_viewer(first_viewer)
        self.thread.start()
        return self

    def publish(self, event) -> None:
        """Cheap and never blocking: the trainer calls this for every event."""
        if self.thread.is_alive() or not self.thread.ident:  # a dead server must not hoard events
            self.inbox.append(event)
            self._wake()

    def close(self, linger: float = 5.0) -> None:
        """Stop accepting, give viewers up to ``linger`` seconds to read the end, then close."""
        if not self.thread.is_alive():
            self._unbind()
            return
        self.inbox.append(("close", linger))
        self._wake()
        self.thread.join(linger + 2.0)

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except (BlockingIOError, OSError):
            pass  # already awake (the pipe is full) or closed

    # ---- the server thread ---------------------------------------------------------------
    def _serve(self) -> None:
        try:
            while True:
                try:
                    self._once()
                except Exception as exc:  # noqa: BLE001 - serving viewers must never end the training
                    self.problems.append(f"{type(exc).__name__}: {exc}")
                    if len(self.problems) > 100:
                        raise
                if self._closing_at is not None and (not self.viewers or time.monotonic() > self._closing_at):
                    break
        finally:
            for sock in list(self.viewers):
                self._drop(sock)
            self._unbind()

    def _once(self) -> None:
        for key, mask in self.selector.select(timeout=0.5):
            if key.data == "wake":
                self._drain_wake()
            elif key.data == "listen":
                self._accept()
            else:
                self._service(key.fileobj, mask)  # type: ignore[arg-type]  # only sockets are registered
        self._take_inbox()
        now = time.monotonic()
        for sock, viewer in list(self.viewers.items()):
            if viewer.stalled(now):
                self._drop(sock)

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _take_inbox(self) -> None:
        while self.inbox:
            item = self.inbox.popleft()
            if isinstance(item, tuple):  # ("close", linger)
                self._closing_at = time.monotonic() + item[1]
                self._unbind()
                for viewer in self.viewers.values():
                    viewer.closing = True
                    self._want_write(viewer)
                continue
            self._record(item)
            self._broadcast(_Frame(item))
            if isinstance(item, ev.Started):
                self._bind(Path(item.run_dir))
                text = self._validation_text(item.run_dir)
                if text:
                    self.inbox.appendleft(wire.RunText(item.run_dir, text))

    def _record(self, event) -> None:
        self.replay.record(event)
        if isinstance(event, ev.Started):
            self.state = "running"
            self.run_dir = Path(event.run_dir)
        elif isinstance(event, ev.StateChanged) and event.state in ("running", "paused"):
            self.state = event.state
        elif isinstance(event, (ev.Finished, ev.Failed)):
            self.state = "finished"
            self._unbind()  # the lock goes next; nothing may look live after it

    def _validation_text(self, run_dir: str) -> str | None:
        if self.validation is None:
            return None
        try:
            return self.validation()
        except Exception:  # noqa: BLE001 - the views fall back to the live sample
            return None

    def _broadcast(self, frame: _Frame) -> None:
        for sock, viewer in list(self.viewers.items()):
            if viewer.queue(frame):
                self._want_write(viewer)
            else:
                self._drop(sock)  # stopped reading: never let it hold memory or the trainer

    # ---- the socket in the run folder ------------------------------------------------------
    def _bind(self, run_dir: Path) -> None:
        if self.listener is not None and self.run_dir == run_dir and (run_dir / SOCKET_FILE).exists():
            return
        self._unbind()
        path = run_dir / SOCKET_FILE
        temp = run_dir / f".{SOCKET_FILE}.tmp-{os.getpid()}"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            for stale in (path, temp):  # we hold the run's lock: any socket here is a dead trainer's
                if os.path.lexists(stale):
                    os.unlink(stale)
            with ShortPath(temp) as address:
                listener.bind(address)
            os.chmod(temp, 0o600)  # owner only (peers' uids are checked as well)
            os.replace(temp, path)
            listener.listen(16)
            listener.setblocking(False)
            write_live(run_dir, path, self.compare)
        except OSError as exc:
            listener.close()
            remove_live(run_dir, os.getpid())
            self.problems.append(f"viewers cannot attach: {exc.strerror or exc} ({path})")
            self.publish(ev.Notice("warning", self.problems[-1]))
            return
        self.listener = listener
        self.listen_dir = run_dir
        self.selector.register(listener, selectors.EVENT_READ, "listen")

    def _unbind(self) -> None:
        listener, self.listener = self.listener, None
        if listener is None:
            return
        try:
            self.selector.unregister(listener)
        except (KeyError, ValueError):
            pass
        listener.close()
        if self.listen_dir is not None:
            remove_live(self.listen_dir, os.getpid())

    def _accept(self) -> None:
        if self.listener is None:
            return
        try:
            sock, _ = self.listener.accept()
        except OSError:
            return
        if _peer_uid(sock) not in (os.getuid(), None):
            sock.close()  # another user: the run folder's owner only
            return
        self._add_viewer(sock)

    def _add_viewer(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        viewer = _Viewer(sock)
        self.viewers[sock] = viewer
        welcome = wire.Welcome(
            wire.PROTOCOL,
            os.getpid(),
            self.state,
            str(self.run_dir) if self.run_dir else None,
            self.started_at,
            self.compare,
        )
        for event in [welcome, *self.replay.events()]:
            viewer.queue(_Frame(event))
        self.selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, viewer)

    def _want_write(self, viewer: _Viewer) -> None:
        try:
            self.selector.modify(viewer.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, viewer)
        except (KeyError, ValueError, OSError):
            pass

    def _drop(self, sock: socket.socket) -> None:
        self.viewers.pop(sock, None)
        try:
            self.selector.unregister(sock)
        except (KeyError, ValueError):
            pass
        sock.close()

    def _service(self, sock: socket.socket, mask: int) -> None:
        viewer = self.viewers.get(sock)
        if viewer is None:
            return
        if mask & selectors.EVENT_READ and not self._read(viewer):
            self._drop(sock)
            return
        if mask & selectors.EVENT_WRITE and not self._write(viewer):
            self._drop(sock)

    def _read(self, viewer: _Viewer) -> bool:
        try:
            data = viewer.sock.recv(65536)
        except BlockingIOError:
            return True
        except OSError:
            return False
        if not data:
            return False  # the viewer left (quit, killed, hung up): training goes on
        try:
            requests = viewer.reader.feed(data)
        except wire.WireError:
            return False  # not one of ours
        for request in requests:
            self._command(viewer, request)
        return True

    def _command(self, viewer: _Viewer, request) -> None:
        if isinstance(request, cmd.Stop):
            self.stop(request.reason)  # the whole request: a compared run's later cells must not start
        elif isinstance(request, (cmd.Pause, cmd.Resume, cmd.Save)) and self.distributed:
            what = "saving on request" if isinstance(request, cmd.Save) else "pausing"
            viewer.queue(
                _Frame(
                    ev.Notice(
                        "warning",
                        f"{what} is not possible under torchrun: every rank would have to "
                        "agree (it autosaves, and saves when stopped)",
                    )
                )
            )
            self._want_write(viewer)
        else:
            self.commands.put(request)

    def _write(self, viewer: _Viewer) -> bool:
        while viewer.out:
            try:
                data = viewer.out[0].data
            except wire.WireError:
                viewer.out.popleft()  # not a record viewers know: skipped, never fatal
                continue
            try:
                sent = viewer.sock.send(memoryview(data)[viewer.offset :])
            except BlockingIOError:
                return True
            except OSError:
                return False
            viewer.offset += sent
            viewer.last_sent = time.monotonic()
            if viewer.offset < len(data):
                return True
            viewer.out.popleft()
            viewer.offset = 0
        if viewer.closing:
            return False
        try:
            self.selector.modify(viewer.sock, selectors.EVENT_READ, viewer)
        except (KeyError, ValueError, OSError):
            return False
        return True


def _peer_uid(sock: socket.socket) -> int | None:
    try:
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except (AttributeError, OSError):
        return None
    return struct.unpack("3i", creds)[1]


# ---- the trainer in a process of its own ----------------------------------------------------------


def request_to_json(request) -> dict:
    """A RunRequest as plain JSON values (it holds only those)."""
    return {**dataclasses.asdict(request), "compare": list(request.compare)}


def request_from_json(data: dict):
    from rnn_tui.core.orchestrate import RunRequest

    known = {f.name for f in dataclasses.fields(RunRequest)}
    values = {k: v for k, v in data.items() if k in known}
    values["compare"] = tuple(values.get("compare") or ())
    return RunRequest(**values)


def start_service(request, report_interval: float = 0.5, argv: list[str] | None = None):
    """Start ``python -m rnn_tui --serve-run SPEC`` in a session of its own (a hang-up of this
    terminal never reaches it) and return (connected socket, Popen). The socket is the first
    viewer's: served from the first moment, before the run folder (and its socket) exists."""
    import json
    import subprocess
    import sys

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    spec = {
        "request": request_to_json(request),
        "report_interval": report_interval,
        "viewer_fd": theirs.fileno(),
        "argv": list(sys.argv if argv is None else argv),
    }
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "rnn_tui", "--serve-run", json.dumps(spec)],
            pass_fds=(theirs.fileno(),),
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()
    return ours, process


def connect(path: Path, timeout: float = 5.0) -> socket.socket:
    """A connection to a live trainer's socket (OSError when nothing listens there)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        with ShortPath(Path(path)) as address:
            sock.connect(address)
    except BaseException:
        sock.close()
        raise
    return sock

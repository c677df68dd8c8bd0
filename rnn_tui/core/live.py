"""Which runs are training now, and where their viewers connect. No torch here.

A trainer that serves viewers writes ``live.json`` (pid, since, socket) beside its ``live.sock``.
Neither proves anything alone: a ``kill -9`` leaves both behind. The run's lock does: the OS
drops it when the process dies, so a run is live only while its lock is held, and files left by
a dead trainer are removed (under the lock, so never those of a trainer starting meanwhile).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

LIVE_FILE = "live.json"
SOCKET_FILE = "live.sock"
LOG_FILE = "trainer.log"


@dataclass(frozen=True)
class LiveRun:
    run_dir: Path
    pid: int | None
    started_at: float | None  # seconds since the epoch
    socket: Path | None  # None: trains, but serves no viewers (an older rnn-tui, the in-process app)
    compare: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.run_dir.name


def _open_lock(run_dir: Path) -> int | None:
    try:
        return os.open(run_dir / "lock", os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return None


def lock_held(run_dir: Path) -> bool:
    """True while a process holds the run's lock (trains it)."""
    import fcntl

    fd = _open_lock(run_dir)
    if fd is None:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing drops the probe's own hold
    return False


def write_live(run_dir: Path, socket_path: Path, compare: tuple[str, ...] = ()) -> None:
    """Say that this process serves ``run_dir`` (called while holding its lock)."""
    data = {"pid": os.getpid(), "started_at": time.time(), "socket": str(socket_path), "compare": list(compare)}
    temp = run_dir / f".{LIVE_FILE}.tmp-{os.getpid()}"
    temp.write_text(json.dumps(data) + "\n", encoding="utf-8")
    os.replace(temp, run_dir / LIVE_FILE)


def remove_live(run_dir: Path, pid: int | None = None) -> None:
    """Remove live.json and live.sock; with ``pid``, only if live.json is still that process's."""
    if pid is not None:
        data = _read(run_dir)
        if data is not None and data.get("pid") != pid:
            return
    for name in (LIVE_FILE, SOCKET_FILE):
        try:
            os.unlink(run_dir / name)
        except OSError:
            pass


def _read(run_dir: Path) -> dict | None:
    try:
        with open(run_dir / LIVE_FILE, encoding="utf-8") as fh:
            data = json.loads(fh.read(65536))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def live_run(run_dir: Path, clean: bool = True) -> LiveRun | None:
    """The run's trainer if it is live now; ``clean`` removes what a dead one left behind."""
    run_dir = Path(run_dir)
    if not lock_held(run_dir):
        if clean:
            clean_stale(run_dir)
        return None
    data = _read(run_dir) or {}
    pid = data.get("pid") if isinstance(data.get("pid"), int) else None
    if pid is not None and not _alive(pid):
        # Killed: its threads may still be on their way out, holding the lock a moment longer.
        deadline = time.monotonic() + 1.0
        while lock_held(run_dir) and time.monotonic() < deadline:
            time.sleep(0.02)
        if not lock_held(run_dir):
            if clean:
                clean_stale(run_dir)
            return None
        pid, data = None, {}  # live.json of a dead trainer, and the lock is someone else's
    if pid is None:  # trained by a process that serves no viewers: the lock still names it
        from rnn_tui.core.runs import lock_holder

        holder = lock_holder(run_dir)
        pid = holder if isinstance(holder, int) else None
    socket = data.get("socket")
    started = data.get("started_at")
    listed = data.get("compare")
    compare = listed if isinstance(listed, list) else []
    return LiveRun(
        run_dir,
        pid,
        float(started) if isinstance(started, (int, float)) else None,
        Path(socket) if isinstance(socket, str) and socket else None,
        tuple(str(c) for c in compare),
    )


def clean_stale(run_dir: Path) -> bool:
    """Remove live.json / live.sock when no process trains the run. True if anything was removed."""
    import fcntl

    run_dir = Path(run_dir)
    if not any(os.path.lexists(run_dir / n) for n in (LIVE_FILE, SOCKET_FILE)):
        return False
    fd = _open_lock(run_dir)
    if fd is None:  # no lock file at all: nothing can be training it
        remove_live(run_dir)
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held while removing: no trainer starts meanwhile
    except OSError:
        return False
    try:
        remove_live(run_dir)
    finally:
        os.close(fd)
    return True


def _alive(pid: int) -> bool:
    """Running (a zombie, killed and not yet reaped, is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[-1].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


def live_runs(runs_root: Path) -> list[LiveRun]:
    """Every live run in ``runs_root``, the most recently started first (stale leftovers cleaned)."""
    try:
        folders = [p for p in Path(runs_root).iterdir() if p.is_dir() and not p.is_symlink()]
    except OSError:
        return []
    found = []
    for folder in folders:
        if not (folder / "lock").exists():
            continue
        live = live_run(folder)
        if live is not None:
            found.append(live)
    found.sort(key=lambda r: (r.started_at or 0.0, r.name), reverse=True)
    return found


def steps_per_second(run_dir: Path, window: int = 50) -> float | None:
    """Recent training speed from the tail of metrics.jsonl (no need to ask the trainer)."""
    try:
        with open(Path(run_dir) / "metrics.jsonl", "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 16384))
            lines = fh.read().splitlines()[1:] if size > 16384 else fh.read().splitlines()
    except OSError:
        return None
    points = []
    for raw in lines[-window:]:
        try:
            row = json.loads(raw)
        except ValueError:
            continue
        if isinstance(row, dict) and isinstance(row.get("step"), int) and isinstance(row.get("elapsed"), (int, float)):
            points.append((row["step"], float(row["elapsed"])))
    if len(points) < 2 or points[-1][1] <= points[0][1]:
        return None
    return (points[-1][0] - points[0][0]) / (points[-1][1] - points[0][1])


class ShortPath:
    """``with ShortPath(path) as address:`` a usable address for ``path`` however long its folder."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.fd: int | None = None

    def __enter__(self) -> str:
        if len(os.fsencode(str(self.path))) < 100 or not Path("/proc/self/fd").is_dir():
            return str(self.path)
        self.fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        return f"/proc/self/fd/{self.fd}/{self.path.name}"

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

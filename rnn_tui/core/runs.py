"""Run folders: config, metrics, checkpoints, samples and a lock.

A run folder holds::

    config.json     the effective config, seed, versions, corpus path and hash
    metrics.jsonl   one JSON object per logged step
    latest.pt       the newest checkpoint (previous.pt: the one before it)
    best.pt         the checkpoint with the best validation loss
    samples/        text saved from the sampling screen
    lock            held (flock) by the process that trains the run
    run.json        the marker written first: it proves the folder is a run of ours
    error.log       tracebacks of unexpected failures

``runs delete`` removes only these files (see ``paths.RUN_FILES``), so a folder
that is not a run, or a file the user put into one, is never removed.

What a checkpoint holds and how it is written and read lives in ``core.checkpoint``;
safe file writing in ``core.files``. This module imports no torch, so ``rnn-tui runs``
answers at once.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import time
from pathlib import Path
from typing import IO

from rnn_tui.core.errors import RunError, first_line
from rnn_tui.core.files import atomic_write_bytes
from rnn_tui.core.paths import (
    CHECKPOINT_FILES,
    MARKER,
    SAMPLES_DIR,
    check_run_name,
    is_run_file,
    is_sample_file,
    name_taken,
    run_name_problem,
    shown,
)


def default_name(corpus_path: str | None, cell: str) -> str:
    # The corpus file name may hold anything a file name can; the run name must stay one plain name.
    stem = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in Path(corpus_path or "").stem)[:60].lstrip("-._")
    return f"{stem or 'corpus'}-{cell}-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"


def _flock_soon(fd: int, patience: float = 0.5) -> None:
    """Take the lock, trying again for ``patience`` seconds: a tool that only looks (``lock_holder``
    where /proc/locks is missing) holds it for an instant. OSError if it stays held."""
    import fcntl

    deadline = time.monotonic() + patience
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


class RunLock:
    """An advisory lock on a run folder; the OS drops it when the process dies."""

    def __init__(self, run_dir: Path):
        self.path = run_dir / "lock"
        self.fh: IO[str] | None = None

    def acquire(self) -> RunLock:

        try:  # never through a symlink: the PID is written into whatever file this is
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except IsADirectoryError:
            raise RunError(f"{self.path} is a folder, not rnn-tui's lock file; remove it and try again") from None
        except OSError as exc:
            if self.path.is_symlink():
                raise RunError(
                    f"{self.path} is a symbolic link, not rnn-tui's lock file; remove it and try again"
                ) from None
            raise RunError(
                f"{self.path}: cannot open the run's lock file ({exc.strerror}); "
                "check that the run folder is writable and lock is a plain file"
            ) from None
        import stat

        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise RunError(f"{self.path} is not a plain file (rnn-tui's lock file is); remove it and try again")
        fh = open(fd, "a+")  # noqa: SIM115 - held open: the lock lasts as long as the file
        try:
            _flock_soon(fh.fileno())
        except OSError:
            pid = _holder_pid(fh.fileno())
            fh.close()
            raise RunError(
                f"{self.path.parent.name} is being trained by another process (PID {pid}); stop it first or pick "
                "another --name"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self.fh = fh
        return self

    def release(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None


class Run:
    def __init__(self, path: Path):
        self.path = Path(path)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def samples_dir(self) -> Path:
        return self.path / "samples"

    def checkpoint(self, kind: str = "latest") -> Path:
        return self.path / f"{kind}.pt"

    def read_config(self) -> dict:
        try:
            data = json.loads((self.path / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RunError(
                f"{self.path}: config.json is missing or unreadable ({first_line(exc)}); is this a run folder?"
            ) from None
        if not isinstance(data, dict) or not all(isinstance(data.get(k), dict) for k in ("train", "corpus")):
            raise RunError(
                f"{self.path}: config.json is damaged (not the settings rnn-tui writes); "
                "its checkpoints still hold the settings"
            )
        return data

    def write_config(self, data: dict) -> None:
        mark_run(self)
        atomic_write_bytes(self.path / "config.json", (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())

    def last_activity(self) -> float:
        """When the run last trained: the newest of its metrics, checkpoints and config."""
        times = [0.0]
        for name in ("metrics.jsonl", *CHECKPOINT_FILES, "config.json", MARKER):
            try:
                times.append((self.path / name).stat().st_mtime)
            except OSError:
                pass
        return max(times)

    def check_writable(self) -> None:
        probe = self.path / f".write-test-{os.getpid()}"
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            with open(probe, "wb") as fh:
                fh.write(b"x" * 4096)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise RunError(
                f"{self.path}: cannot write to the runs folder ({exc.strerror}); pick another with --runs-dir or "
                "free some space"
            ) from None
        finally:
            try:
                probe.unlink()
            except OSError:
                pass
        if not (self.path / "config.json").exists():
            try:
                mark_run(self)  # a new run: marked before anything else is written into it
            except OSError as exc:
                raise RunError(
                    f"{self.path}: cannot write to the runs folder ({exc.strerror}); "
                    "pick another with --runs-dir or free some space"
                ) from None

    def append_metrics(self, rows: list[dict], sync: bool = False, at: int | None = None) -> int:
        """Append rows whole or not at all: a failed write (a full disk) is cut back off, so no half
        row is left for the next one to run into. ``sync``: on disk before a checkpoint claims them.
        ``at``: first cut the file back to this offset (to amend the rows appended last).
        Returns the offset at which the rows begin."""
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW  # never write through a link
        fd = os.open(self.metrics_path, flags, 0o666)
        try:
            if at is not None:
                os.ftruncate(fd, at)
            start = os.lseek(fd, 0, os.SEEK_END)
            data = memoryview("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows).encode())
            try:
                while data:
                    data = data[os.write(fd, data) :]
                if sync:
                    os.fsync(fd)
            except OSError:
                try:
                    os.ftruncate(fd, start)
                except OSError:
                    pass
                raise
        finally:
            os.close(fd)
        return start

    def truncate_metrics(self, after_step: int) -> None:
        """Drop rows logged after ``after_step`` (left by a run that died after its last save).

        The history up to ``after_step`` stays as it was, unreadable lines among it included (what
        they held cannot be known); everything after its last row, unreadable lines too, is the tail
        of the run that died and goes, as does a last line cut short by a crash, so that the next
        row starts on a line of its own. Nothing is written if nothing changes.
        """
        try:
            data = self.metrics_path.read_bytes()
        except FileNotFoundError:
            return
        lines = data.split(b"\n")
        tail = lines.pop()  # b"" when the file ends with a newline
        if tail and _row_step(tail) is not None:
            lines.append(tail)  # a whole row that only lacks its newline
        kept_rows = [i for i, line in enumerate(lines) if (step := _row_step(line)) is not None and step <= after_step]
        history = lines[: kept_rows[-1] + 1] if kept_rows else []
        keep = [line for line in history if not _logged_after(line, after_step)]
        new = b"".join(line + b"\n" for line in keep)
        if new == data:
            return
        if data.startswith(new):  # only a tail goes (the usual case): cut in place, no space needed on a full disk
            fd = os.open(self.metrics_path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
            try:
                os.ftruncate(fd, len(new))
                os.fsync(fd)
            finally:
                os.close(fd)
        else:
            atomic_write_bytes(self.metrics_path, new)

    def read_metrics(self) -> list[dict]:
        return self.read_metrics_counted()[0]

    def read_metrics_counted(self) -> tuple[list[dict], int]:
        """(rows, lines skipped). A damaged line is skipped and counted, never fatal; the last line
        cut short by a crash (no newline) is dropped without counting it."""
        rows, skipped = [], 0
        try:
            with open(self.metrics_path, "rb") as fh:
                for raw in fh:
                    try:
                        row = _clean_row(json.loads(raw.decode("utf-8")))
                    except ValueError:
                        row = None
                    if row is not None:
                        rows.append(row)
                    elif raw.endswith(b"\n"):
                        skipped += 1
        except FileNotFoundError:
            pass
        except OSError:
            skipped += 1  # e.g. metrics.jsonl is a folder: nothing to read
        return rows, skipped

    def summary(self) -> dict:
        problems = []
        try:
            config = self.read_config()
        except RunError:
            config = {}
            problems.append("config.json unreadable" if (self.path / "config.json").exists() else "no config.json")
        train = config.get("train", {})
        rows, skipped = self.read_metrics_counted()
        if skipped:
            problems.append(f"{skipped} bad line{'s' if skipped != 1 else ''} in metrics.jsonl skipped")
        vals = [r["val_loss"] for r in rows if r.get("val_loss") is not None]
        activity = self.last_activity()
        return {
            "name": self.name,
            "path": str(self.path),
            "cell": str(train.get("cell", "?")),
            "size": f"{train.get('layers', '?')}x{train.get('hidden_size', '?')}",
            "steps": max(r["step"] for r in rows) if rows else 0,
            "best_val_loss": min(vals) if vals else None,
            "last_change": activity or None,
            "checkpoints": [p for p in CHECKPOINT_FILES if self.checkpoint(p[:-3]).is_file()],
            "problems": problems,
            "damaged": not config,  # no readable config: cell, size and corpus are unknown
        }


_NUMBER_FIELDS = ("train_loss", "val_loss", "lr", "grad_norm", "elapsed", "chars_per_sec")


def _clean_row(row) -> dict | None:
    """A metrics row as rnn-tui writes it, or None. A null value counts as absent."""
    if not isinstance(row, dict):
        return None
    step = row.get("step")
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        return None
    clean = {}
    for key, value in row.items():
        if key in _NUMBER_FIELDS:
            if value is None:
                continue
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                return None
        clean[key] = value
    return clean


def _row_step(line: bytes) -> int | None:
    try:
        row = json.loads(line)
    except ValueError:
        return None
    step = row.get("step") if isinstance(row, dict) else None
    return step if type(step) is int else None


def _logged_after(line: bytes, step: int) -> bool:
    logged = _row_step(line)
    return logged is not None and logged > step


# ---- finding runs ------------------------------------------------------------------------------


def mark_run(run: Run) -> None:
    """Write the marker that proves ``run`` is a run folder of ours (once; never overwritten)."""
    if not (run.path / MARKER).exists():
        from rnn_tui import __version__

        data = {"format": "rnn-tui-run", "version": 1, "created": now_iso(), "rnn_tui": __version__}
        atomic_write_bytes(run.path / MARKER, (json.dumps(data, indent=2) + "\n").encode())


def run_evidence(folder: Path) -> str | None:
    """What proves ``folder`` is a run of ours, or None.

    New runs carry the marker; runs from before it are recognised only by their full layout: a
    config.json holding our keys (train, corpus, versions.rnn_tui) and metrics.jsonl or a checkpoint
    beside it. A project folder that merely has a config.json is neither.
    """
    try:
        if folder.is_symlink() or not folder.is_dir():
            return None
        marker = folder / MARKER
        if marker.is_file() and not marker.is_symlink() and marker.stat().st_size < 65536:
            try:
                data = json.loads(marker.read_text(encoding="utf-8"))
                if isinstance(data, dict) and data.get("format") == "rnn-tui-run":
                    return "marker"
            except (OSError, ValueError):
                pass
        try:
            config = Run(folder).read_config()
        except RunError:
            return None
        versions = config.get("versions")
        ours = (
            isinstance(versions, dict)
            and "rnn_tui" in versions
            and config["train"].get("cell") in ("rnn", "lstm", "gru")
        )
        has_layout = ours and (
            (folder / "metrics.jsonl").is_file() or any((folder / n).is_file() for n in CHECKPOINT_FILES)
        )
        return "layout" if has_layout else None
    except OSError:
        return None


def _listed(folder: Path) -> bool:
    """Shown by `rnn-tui runs` (a damaged run included): a folder holding our marker, config or a checkpoint."""
    try:
        return folder.is_dir() and any((folder / n).is_file() for n in (MARKER, "config.json", *CHECKPOINT_FILES))
    except OSError:
        return False


def list_runs(runs_root: Path) -> list[Run]:
    """The runs in ``runs_root``, most recently trained first."""
    try:
        folders = list(runs_root.iterdir()) if runs_root.is_dir() else []
    except OSError:
        return []
    runs = [Run(p) for p in folders if _listed(p)]
    runs.sort(key=lambda r: (r.last_activity(), r.name), reverse=True)
    return runs


def is_path_ref(ref: str) -> bool:
    """RUN given as a path (``./r``, ``/x/r``, ``~/r``, ``.``) rather than a name in the runs folder."""
    return ref in (".", "..") or ref.startswith("~") or "/" in ref or os.sep in ref or Path(ref).is_absolute()


def _by_name(ref: str, runs_root: Path, exact_only: bool = False) -> Run | None:
    """A run in ``runs_root`` by exact name, ``last`` (the most recently trained), or a unique prefix
    (``exact_only``: the whole name, as deleting asks; a near miss is named so the user can type it)."""
    if run_name_problem(ref):
        return None
    exact = runs_root / ref
    if _listed(exact):
        return Run(exact)
    runs = list_runs(runs_root)
    if exact_only:
        near = [r.name for r in runs if r.name.startswith(ref)] or ([runs[0].name] if ref == "last" and runs else [])
        if near:
            raise RunError(
                f"no run is named exactly {shown(ref)} ({', '.join(near[:3])}{', ...' if len(near) > 3 else ''} "
                f"{'starts' if len(near) == 1 else 'start'} with it); deleting needs the run's whole name"
            )
        return None
    if ref == "last":
        return runs[0] if runs else None
    matches = [r for r in runs if r.name.startswith(ref)]
    if len(matches) > 1:
        names = ", ".join(r.name for r in matches[:6]) + (", ..." if len(matches) > 6 else "")
        raise RunError(f"{shown(ref)} matches {len(matches)} runs ({names}); type more of the name")
    return matches[0] if matches else None


def _no_such_run(ref: str, runs_root: Path) -> RunError:
    known = ", ".join(r.name for r in list_runs(runs_root)[:5])
    hint = f" (runs here: {known}...)" if known else ""
    return RunError(f"{shown(ref)}: no such run in {runs_root}{hint}; see `rnn-tui runs`")


def find_run(ref: str, runs_root: Path, exact_only: bool = False) -> Run:
    """The run folder RUN names: a bare name only ever means a run in the runs folder (exact, ``last``
    or a unique prefix; only the exact name with ``exact_only``); an explicit path must itself be a run
    folder, never a file in one."""
    if is_path_ref(ref):
        folder = Path(os.path.abspath(Path(ref).expanduser()))
        if folder.is_file():
            raise RunError(f"{ref}: is a file, not a run folder; pass the run's name or its folder")
        if not folder.is_dir():
            raise RunError(f"{ref}: no such folder; pass a run's name (see `rnn-tui runs`) or its folder")
        if run_evidence(folder) is None and not any((folder / n).is_file() for n in CHECKPOINT_FILES):
            raise RunError(f"{folder}: not an rnn-tui run folder (no {MARKER} marker, no run layout)")
        return Run(folder)
    found = _by_name(ref, runs_root, exact_only)
    if found is None:
        raise _no_such_run(ref, runs_root)
    return found


def resolve_run(ref: str, runs_root: Path) -> tuple[Run | None, Path]:
    """RUN may be a run name (or prefix, or ``last``), a run folder or a checkpoint file: return
    (run, checkpoint path). A run name always wins over a same-named file in the working directory."""
    candidate = Path(ref).expanduser()
    run = None if is_path_ref(ref) else _by_name(ref, runs_root)
    if run is None:
        if candidate.is_file():
            parent = candidate.parent
            return (Run(parent) if _listed(parent) else None), candidate
        if not (candidate.is_dir() and _listed(candidate)):
            if is_path_ref(ref):
                raise RunError(f"{ref}: not a run folder or checkpoint file; pass a run's name (see `rnn-tui runs`)")
            raise _no_such_run(ref, runs_root)
        run = Run(Path(os.path.abspath(candidate)))
    present = [run.checkpoint(kind) for kind in ("latest", "best", "previous") if run.checkpoint(kind).is_file()]
    from rnn_tui.core.checkpoint import peek_checkpoint

    if present:  # the first readable (a damaged latest.pt: the next); none: the first, whose load says why
        return run, next((path for path in present if peek_checkpoint(path) is not None), present[0])
    raise RunError(
        f"{run.path}: run has no checkpoint yet; train it for a few steps first (`rnn-tui runs show {run.name}` "
        "shows what it has)"
    )


def new_run(runs_root: Path, name: str, check_free: bool = True) -> Run:
    """The folder for a new run: the name must be one plain name, and free (nothing is written here)."""
    check_run_name(name)
    if check_free:
        reason = name_taken(runs_root, name)
        if reason:
            raise RunError(reason)
    return Run(runs_root / name)


# ---- deleting runs ------------------------------------------------------------------------------


def lock_holder(run_dir: Path) -> int | str | None:
    """Who trains the run: a PID (or "unknown"), or None when its lock is free."""
    import fcntl

    fd = _open_lock_readonly(run_dir)
    if fd is None:
        return None
    try:
        listed = _proc_locks_holder(fd)
        if listed is not False:  # the kernel's list answers without touching the lock
            return listed
        try:  # no /proc/locks: a probe, which holds the lock for an instant (a trainer starting then retries)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return _holder_pid(fd)
        return None
    finally:
        os.close(fd)


def _open_lock_readonly(run_dir: Path) -> int | None:
    """A read-only descriptor of the run's lock file; None when there is no plain lock file to hold."""
    import stat

    try:
        fd = os.open(run_dir / "lock", os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd


def _proc_locks_holder(fd: int) -> int | None | bool:
    """The PID holding a flock on this file as /proc/locks lists it, None if it lists none, False when
    the list cannot say (not Linux, or the same inode listed on another device, as overlay filesystems
    may show it)."""
    st = os.fstat(fd)
    ident = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    unsure = False
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 6 and parts[1] == "FLOCK" and "->" not in parts:
                    if parts[5] == ident:
                        return int(parts[4])
                    unsure = unsure or parts[5].rsplit(":", 1)[-1] == str(st.st_ino)
    except (OSError, ValueError):
        return False
    return False if unsure else None


def _holder_pid(fd: int) -> int | str:
    # /proc/locks names the holder of the lock itself; the file's text is the fallback.
    listed = _proc_locks_holder(fd)
    if isinstance(listed, int) and not isinstance(listed, bool):
        return listed
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else "unknown"
    except OSError:
        return "unknown"


def _hold_lock(run: Run, force: bool, wait_s: float, say) -> int | None:
    """Hold the run's lock while it is deleted, so no trainer can start on it meanwhile."""
    import fcntl
    import signal

    fd = _open_lock_readonly(run.path)
    if fd is None:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except OSError:
        pid = _holder_pid(fd)
    if not force:
        os.close(fd)
        raise RunError(f"{run.name} is being trained (PID {pid}); stop it first, or add --force to stop it and delete")
    if not isinstance(pid, int) or pid <= 0 or pid == os.getpid():
        os.close(fd)
        raise RunError(f"{run.name} is being trained by a process whose PID is unknown; stop it first")
    say(f"stopping PID {pid} (it saves and exits)...")
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.close(fd)
        raise RunError(
            f"{run.name} is being trained by PID {pid}, which this user may not stop; stop it first"
        ) from None
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError:
            if time.monotonic() > deadline:
                os.close(fd)
                raise RunError(
                    f"PID {pid} still trains {run.name} after {wait_s:.0f} s; stop it (kill {pid}) and try again"
                ) from None
            time.sleep(0.2)


def delete_run(run: Run, force: bool = False, wait_s: float = 30.0, say=lambda line: None) -> list[str]:
    """Remove the files rnn-tui wrote into ``run``, then the folder if that left it empty.

    Refused unless the folder is provably a run of ours; a live run is refused (or, with ``force``,
    stopped first). Returns the names left behind (files rnn-tui did not write).
    """
    evidence = run_evidence(run.path)
    if evidence is None:
        why = "a symbolic link" if run.path.is_symlink() else f"no {MARKER} marker and not the layout of a run"
        raise RunError(f"{run.path}: not provably an rnn-tui run ({why}); nothing was removed")
    if not os.access(run.path, os.W_OK | os.X_OK):
        raise RunError(f"{run.path}: the run folder is read-only; nothing was removed")
    fd = _hold_lock(run, force, wait_s, say)
    removed = 0
    try:
        order = [n for n in os.listdir(run.path) if is_run_file(n) and n not in ("config.json", MARKER, "lock")]
        order.sort(key=lambda n: n != "metrics.jsonl")  # the proof (config, marker) goes last
        for name in [*order, SAMPLES_DIR, "config.json", MARKER, "lock"]:
            removed += _remove_ours(run.path / name)
    except OSError as exc:
        raise RunError(
            f"could not delete {run.path}: {exc.filename or ''} ({exc.strerror}); "
            f"{removed} of its files were removed, the rest are still there"
        ) from None
    finally:
        if fd is not None:
            os.close(fd)
    try:
        left = sorted(os.listdir(run.path))
    except OSError:
        left = []
    if not left:
        try:
            run.path.rmdir()
        except OSError as exc:
            say(f"note: the empty folder {run.path} was left ({exc.strerror})")
    return left


def rename_run(run: Run, new_name: str) -> Run:
    """Give ``run`` another name in the same runs folder: one rename of its folder, under its lock.

    Refused for a folder that is not provably a run of ours, a live run, a bad name or a taken one;
    nothing is moved then. Checkpoints and config.json hold no path of their own folder.
    """
    from rnn_tui.core.paths import check_run_name

    check_run_name(new_name, "the new name")
    if new_name == run.name:
        return run
    if run_evidence(run.path) is None:
        raise RunError(f"{run.path}: not provably an rnn-tui run; nothing was renamed")
    target = run.path.parent / new_name
    if target.exists() or target.is_symlink():
        raise RunError(f"{new_name} is taken in {run.path.parent}; pick another name")
    fd = _hold_lock(run, force=False, wait_s=0.0, say=lambda line: None)
    try:
        if target.exists() or target.is_symlink():
            raise RunError(f"{new_name} is taken in {run.path.parent}; pick another name")
        os.rename(run.path, target)
    except OSError as exc:
        raise RunError(
            f"could not rename {run.name} to {new_name} ({exc.strerror or exc}); nothing was moved"
        ) from None
    finally:
        if fd is not None:
            os.close(fd)
    return Run(target)


def _remove_ours(path: Path) -> int:
    """Remove one thing rnn-tui wrote (a plain file, or samples/ with only our files); 0 if none."""
    import stat

    try:
        st = path.lstat()
    except FileNotFoundError:
        return 0
    if stat.S_ISREG(st.st_mode):
        path.unlink()
        return 1
    if path.name == SAMPLES_DIR and stat.S_ISDIR(st.st_mode):
        count = 0
        for child in list(path.iterdir()):
            if is_sample_file(child.name) and child.is_file() and not child.is_symlink():
                child.unlink()
                count += 1
        if not any(path.iterdir()):
            path.rmdir()
        return count
    return 0  # a folder or link where our file would be: not ours, left alone


# ---- checking what a checkpoint holds --------------------------------------------------------------


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")

"""Run folders: config, metrics, checkpoints, samples and a lock.

A run folder holds::

    config.json     the effective config, seed, versions, corpus path and hash
    metrics.jsonl   one JSON object per logged step
    latest.pt       the newest checkpoint (previous.pt: the one before it)
    best.pt         the checkpoint with the best validation loss
    samples/        text saved from the sampling screen
    lock            held (flock) by the process that trains the run

Checkpoints hold tensors and plain values only. They are written atomically
(temp file, fsync, rename) and read with ``torch.load(weights_only=True)`` so
nothing in a file can run code.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import pickle
import time
import zipfile
from pathlib import Path

import torch

from rnn_tui.core.errors import CheckpointError, RunError

FORMAT = "rnn-tui-checkpoint"
FORMAT_VERSION = 1
CHECKPOINTS = ("latest.pt", "previous.pt", "best.pt")


def default_name(corpus_path: str, cell: str) -> str:
    stem = Path(corpus_path).stem or "corpus"
    return f"{stem}-{cell}-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"


class RunLock:
    """An advisory lock on a run folder; the OS drops it when the process dies."""

    def __init__(self, run_dir: Path):
        self.path = run_dir / "lock"
        self.fh = None

    def acquire(self) -> "RunLock":
        import fcntl

        fh = open(self.path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            pid = fh.read().strip() or "unknown"
            fh.close()
            raise RunError(f"{self.path.parent.name} is being trained by another process (PID {pid}); stop it first or pick another --name") from None
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
            return json.loads((self.path / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RunError(f"{self.path}: config.json is missing or unreadable ({exc}); is this a run folder?") from None

    def write_config(self, data: dict) -> None:
        atomic_write_bytes(self.path / "config.json", (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())

    def check_writable(self) -> None:
        probe = self.path / f".write-test-{os.getpid()}"
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            with open(probe, "wb") as fh:
                fh.write(b"x" * 4096)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise RunError(f"{self.path}: cannot write to the runs folder ({exc.strerror}); pick another with --runs-dir or free some space") from None
        finally:
            try:
                probe.unlink()
            except OSError:
                pass

    def append_metrics(self, rows: list[dict]) -> None:
        if not rows:
            return
        with open(self.metrics_path, "a", encoding="utf-8") as fh:
            fh.write("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows))

    def truncate_metrics(self, after_step: int) -> None:
        """Drop rows logged after ``after_step`` (left by a run that died after its last save)."""
        rows = self.read_metrics()
        keep = [r for r in rows if r.get("step", 0) <= after_step]
        if len(keep) != len(rows):
            atomic_write_bytes(self.metrics_path, "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in keep).encode())

    def read_metrics(self) -> list[dict]:
        rows = []
        try:
            with open(self.metrics_path, encoding="utf-8") as fh:
                for line in fh:
                    try:
                        rows.append(json.loads(line))
                    except ValueError:
                        continue  # a line cut short by a crash
        except FileNotFoundError:
            pass
        return rows

    def summary(self) -> dict:
        config = {}
        try:
            config = self.read_config()
        except RunError:
            pass
        train = config.get("train", {})
        rows = self.read_metrics()
        vals = [r["val_loss"] for r in rows if r.get("val_loss") is not None]
        mtimes = [p.stat().st_mtime for p in self.path.iterdir() if p.is_file()] if self.path.exists() else []
        return {
            "name": self.name,
            "path": str(self.path),
            "cell": train.get("cell", "?"),
            "size": f"{train.get('layers', '?')}x{train.get('hidden_size', '?')}",
            "steps": rows[-1]["step"] if rows else 0,
            "best_val_loss": min(vals) if vals else None,
            "last_change": max(mtimes) if mtimes else None,
            "checkpoints": [p for p in CHECKPOINTS if self.checkpoint(p[:-3]).exists()],
        }


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_checkpoint(state: dict, path: Path, keep_previous: bool = False) -> None:
    """Write ``state`` atomically: a crash leaves the old file whole (and previous.pt when asked)."""
    state = {"format": FORMAT, "format_version": FORMAT_VERSION, **state}
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            torch.save(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        if keep_previous and path.exists():
            os.replace(path, path.with_name("previous.pt"))
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint without running anything from it, or raise CheckpointError."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()
        detail = next((ln.strip() for ln in first if "GLOBAL" in ln or "Unsupported" in ln), "it holds objects other than tensors")
        raise CheckpointError(f"{path}: refused, not a plain rnn-tui checkpoint ({detail}); nothing from it was run") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CheckpointError(f"{path}: corrupt or truncated checkpoint ({_short(exc)}){_alternatives(path)}") from None
    except Exception as exc:  # any other failure to parse is still a bad file, never a traceback
        raise CheckpointError(f"{path}: corrupt or unreadable checkpoint ({_short(exc)}){_alternatives(path)}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an rnn-tui checkpoint (written by another program?); pass a run name or a .pt file from an rnn-tui run")
    version = state.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {version} is newer than this rnn-tui reads (version {FORMAT_VERSION}); upgrade rnn-tui"
        )
    for key in ("config", "vocab", "model"):
        if key not in state:
            raise CheckpointError(f"{path}: checkpoint lacks {key!r}; it is incomplete{_alternatives(path)}")
    return state


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:120]


def _alternatives(path: Path) -> str:
    others = [path.with_name(n) for n in CHECKPOINTS if n != path.name and path.with_name(n).is_file()]
    if not others:
        return ""
    return "; the other checkpoint(s) are intact: " + ", ".join(str(p) for p in others)


def resolve_run(ref: str, runs_root: Path) -> tuple[Run | None, Path]:
    """RUN may be a run name, a run folder or a checkpoint file: return (run, checkpoint path)."""
    candidate = Path(ref).expanduser()
    if candidate.is_file():
        parent = candidate.parent
        return (Run(parent) if (parent / "config.json").exists() else None), candidate
    # A bare name is a run name first; a path (or a name with no such run) is a folder.
    folders = (runs_root / ref, candidate) if os.sep not in ref else (candidate,)
    for folder in folders:
        if folder.is_dir() and ((folder / "config.json").exists() or any((folder / n).is_file() for n in CHECKPOINTS)):
            run = Run(folder)
            for kind in ("latest", "best", "previous"):
                if run.checkpoint(kind).is_file():
                    return run, run.checkpoint(kind)
            raise RunError(f"{folder}: run has no checkpoint yet; train it for a few steps first")
    known = ", ".join(r.name for r in list_runs(runs_root)[:5])
    hint = f" (runs here: {known}...)" if known else ""
    raise RunError(f"{ref!r}: no such run in {runs_root}, and not a folder or checkpoint file{hint}; see `rnn-tui runs`")


def list_runs(runs_root: Path) -> list[Run]:
    if not runs_root.is_dir():
        return []
    runs = [Run(p) for p in runs_root.iterdir() if p.is_dir() and (p / "config.json").exists()]
    runs.sort(key=lambda r: (r.path / "config.json").stat().st_mtime, reverse=True)
    return runs


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")

"""Writing files so that a crash at any instant leaves either the old or the new one, whole.

Shared by checkpoints and run folders: temporary names that say which process wrote them, fsync
before rename, and a seam (``create_file``) that tests replace to fill the disk.
"""

from __future__ import annotations

import os
import re
from pathlib import Path


def create_file(path: Path):
    """Open a new file for writing (a seam: tests replace it to fill the disk)."""
    return open(path, "wb")


class _KeepWriteError:
    """torch's zip writer turns a failed write into a RuntimeError ("unexpected pos"); this keeps the
    OSError itself, so a full disk is reported as one."""

    def __init__(self, fh):
        self.fh, self.error = fh, None

    def write(self, data) -> int:
        try:
            return self.fh.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        self.fh.flush()


def unlink_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def write_synced(path: Path, write) -> None:
    """Create ``path`` with ``write(file)`` and fsync it; on any failure remove it and raise
    (an OSError when the disk is full, whoever wrote)."""
    try:
        with create_file(path) as fh:
            guarded = _KeepWriteError(fh)
            try:
                write(guarded)
            except RuntimeError:
                if guarded.error is not None:
                    raise guarded.error from None
                raise
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        unlink_quietly(path)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = temp_name(path)
    write_synced(tmp, lambda fh: fh.write(data))
    try:
        os.replace(tmp, path)
    except BaseException:
        unlink_quietly(tmp)
        raise
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
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


def list_names(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


TEMP_NAME = re.compile(
    r"^\.(latest\.pt|previous\.pt|best\.pt|config\.json|metrics\.jsonl)\.tmp-(\d+)$|^\.write-test-(\d+)$"
)

"""Where this machine keeps rnn-tui's files. ``RNN_TUI_HOME`` overrides it."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def home() -> Path:
    override = os.environ.get("RNN_TUI_HOME")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("rnn-tui", appauthor=False))


def runs_dir(override: str | os.PathLike | None = None) -> Path:
    return Path(override).expanduser() if override else home() / "runs"


def demo_corpus() -> Path:
    """The bundled demo corpus (the Shakespeare tragedies), beside the package."""
    return Path(__file__).resolve().parents[2] / "assets" / "shakespeare_tragedies.txt"


def check_regular_file(path: Path) -> os.stat_result:
    """Stat the corpus path without opening it, so a FIFO or device never blocks a read."""
    from rnn_tui.core.errors import CorpusError

    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise CorpusError(f"{path}: no such file; pass the path of a text file to train on") from None
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read it ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise CorpusError(f"{path}: is a directory, not a text file; pass the path of one text file")
    if not stat.S_ISREG(st.st_mode):
        raise CorpusError(f"{path}: not a regular file (a FIFO, socket or device); save the text to a file first")
    return st

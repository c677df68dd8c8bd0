"""Where this machine keeps rnn-tui's files. ``RNN_TUI_HOME`` overrides it."""

from __future__ import annotations

import os
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

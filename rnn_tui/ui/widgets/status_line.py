"""One line for events: saves, validations, warnings, errors."""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import Static

STYLES = {"info": "", "warning": "bold yellow", "error": "bold red", "ok": "green"}


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; padding: 0 1; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.history: list[tuple[float, str, str]] = []

    def say(self, message: str, level: str = "info") -> None:
        self.history.append((time.time(), level, message))
        del self.history[:-200]
        line = Text(time.strftime("%H:%M:%S "), style="dim")
        line.append(message.replace("\n", " "), style=STYLES.get(level, ""))
        self.update(line)

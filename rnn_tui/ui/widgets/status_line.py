"""One line for events: saves, validations, warnings, errors.

A long message (a run folder deep in the home directory) wraps onto a second
line rather than losing its end.
"""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual.widgets import Static

STYLES = {"info": "", "warning": "bold yellow", "error": "bold red", "ok": "green"}


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: auto; max-height: 2; padding: 0 1; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self.clock = time.time  # tests freeze it for pictures that do not change
        self.message = ""  # the line shown now (tests read it)

    def say(self, message: str, level: str = "info") -> None:
        now = self.clock()
        self.message = message
        line = Text(time.strftime("%H:%M:%S ", time.localtime(now)), style="dim")
        line.append(message.replace("\n", " "), style=STYLES.get(level, ""))
        self.update(line)

"""One line for events: saves, validations, warnings, errors.

A long message (a run folder deep in the home directory) wraps onto a second
line rather than losing its end. Most messages answer a key, so a new one asks
for a new layout only when its height changes: a repaint of one line is faster.
"""

from __future__ import annotations

import time
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.widget import Widget

STYLES = {"info": "", "warning": "bold yellow", "error": "bold red", "ok": "green"}


class StatusLine(Widget):
    DEFAULT_CSS = """
    StatusLine { height: auto; max-height: 2; padding: 0 1; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clock = time.time  # tests freeze it for pictures that do not change
        self.message = ""  # the line shown now (tests read it)
        self.shown = Text("")

    def say(self, message: str, level: str = "info") -> None:
        now = self.clock()
        self.message = message
        line = Text(time.strftime("%H:%M:%S ", time.localtime(now)), style="dim")
        line.append(message.replace("\n", " "), style=STYLES.get(level, ""))
        before, self.shown = self._lines(self.shown), line
        self.refresh(layout=self._lines(line) != before)

    def _lines(self, line: Text) -> int:
        width = self.content_size.width
        return 0 if width <= 0 else 1 if cell_len(line.plain) <= width else 2

    def render(self) -> Text:
        return self.shown

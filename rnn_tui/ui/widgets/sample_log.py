"""The live sample: a fresh sample every few seconds, never read as markup.

When the sample has more lines than the box, the box says how many are not
shown rather than ending silently.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from rnn_tui.core.textutil import visible


class SampleLog(Static):
    DEFAULT_CSS = """
    SampleLog { height: 1fr; padding: 0 1; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(Text("the first sample appears after a few seconds of training", style="dim"), **kwargs)
        self.text = ""
        self.step = 0

    def show(self, step: int, text: str, temperature: float) -> None:
        self.text, self.step = text, step
        self.border_title = f"sample @ step {step:,}, temperature {temperature:g}"
        self.update(Text(visible(text), no_wrap=False))
        self.call_after_refresh(self._count_hidden)

    def on_resize(self) -> None:
        self._count_hidden()

    def _count_hidden(self) -> None:
        width, height = self.content_size
        if not self.text or width <= 0 or height <= 0:
            self.border_subtitle = ""
            return
        lines = len(Text(visible(self.text)).wrap(self.app.console, width))
        hidden = lines - height
        self.border_subtitle = f"{hidden} more line{'s' if hidden != 1 else ''} below" if hidden > 0 else ""

"""The live sample: a fresh sample every few seconds, never read as markup."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from rnn_tui.core.textutil import visible


class SampleLog(Static):
    DEFAULT_CSS = """
    SampleLog { height: 1fr; padding: 0 1; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(Text("the first sample appears after a few seconds of training", style="dim"), **kwargs)
        self.text = ""
        self.step = 0

    def show(self, step: int, text: str, temperature: float) -> None:
        self.text, self.step = text, step
        self.border_title = f"sample @ step {step:,}, temperature {temperature:g}"
        self.update(Text(visible(text), no_wrap=False))

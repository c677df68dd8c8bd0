"""Generated text, optionally coloured by the model's confidence, with a cursor."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from rnn_tui.core.textutil import visible_char
from rnn_tui.ui.widgets.colour import value_style


class SampleOutput(Widget, can_focus=True):
    DEFAULT_CSS = """
    SampleOutput { height: 1fr; padding: 0 1; }
    """
    confidence: reactive[bool] = reactive(False)
    cursor: reactive[int] = reactive(-1)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.prime = ""
        self.tokens: list = []

    def reset(self, prime: str) -> None:
        self.prime, self.tokens, self.cursor = prime, [], -1
        self.refresh()

    def extend(self, tokens) -> None:
        self.tokens.extend(tokens)
        self.refresh()

    @property
    def text(self) -> str:
        return self.prime + "".join(t.char for t in self.tokens)

    def render(self) -> Text:
        out = Text(no_wrap=False)
        out.append("".join(visible_char(c) for c in self.prime), style="bold underline")
        budget = max(200, self.size.width * self.size.height * 2)
        start = max(0, len(self.tokens) - budget) if self.cursor < 0 else max(0, min(self.cursor - budget // 2, len(self.tokens) - budget))
        for i in range(start, len(self.tokens)):
            token = self.tokens[i]
            style = value_style(token.prob, False) if self.confidence else Style()
            if i == self.cursor:
                style = style + Style(reverse=True, bold=True)
            out.append(visible_char(token.char) if token.char != "\n" or i == self.cursor else "\n", style=style)
        return out

    def watch_confidence(self) -> None:
        self.refresh()

    def watch_cursor(self) -> None:
        self.refresh()

"""Text coloured character by character by one unit's gate value, with a cursor and a selection."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from rnn_tui.core.textutil import visible_char
from rnn_tui.ui.widgets.colour import value_style

CURSOR = Style(reverse=True, bold=True, underline=True)


class GateText(Widget, can_focus=True):
    DEFAULT_CSS = """
    GateText { width: 1fr; height: 1fr; padding: 0 1; }
    """
    cursor: reactive[int] = reactive(0)
    anchor: reactive[int | None] = reactive(None)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.chars: tuple[str, ...] = ()
        self.values: list[float] = []
        self.diverging = True

    def set_data(self, chars, values, diverging: bool) -> None:
        self.chars, self.values, self.diverging = tuple(chars), list(values), diverging
        self.cursor = min(self.cursor, max(0, len(self.chars) - 1))
        self.refresh()

    @property
    def span(self) -> tuple[int, int]:
        if self.anchor is None:
            return self.cursor, self.cursor + 1
        return min(self.anchor, self.cursor), max(self.anchor, self.cursor) + 1

    def render(self) -> Text:
        out = Text(no_wrap=False)
        if not self.chars:
            out.append("tracing\u2026", style="dim")
            return out
        # Show a window of the text around the cursor that fits the widget.
        width = max(10, self.size.width)
        budget = width * max(1, self.size.height)
        start = max(0, min(self.cursor - budget // 2, len(self.chars) - budget))
        lo, hi = self.span
        column = 0
        for i in range(start, len(self.chars)):
            ch = self.chars[i]
            shown = "\u21b5" if ch == "\n" else visible_char(ch)
            style = value_style(self.values[i], self.diverging)
            if lo <= i < hi:
                style = style + CURSOR
            out.append(shown, style=style)
            column += 1
            if ch == "\n":
                out.append("\n")
                column = 0
                budget -= width
            if i - start > budget:
                break
        return out

    def watch_cursor(self) -> None:
        self.refresh()

    def watch_anchor(self) -> None:
        self.refresh()

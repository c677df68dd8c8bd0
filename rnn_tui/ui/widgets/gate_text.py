"""Text coloured character by character by one unit's gate value, with a cursor and a selection.

The widget lays the text out itself (text_layout) and shows the rows around
the cursor, keeping the pane full: it scrolls only as far as the text goes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.style import Style
from rich.text import Text
from textual import events
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from rnn_tui.ui.widgets.colour import value_style
from rnn_tui.ui.widgets.text_layout import NEWLINE_MARK, row_of, shown, wrap_rows

CURSOR = Style(reverse=True, bold=True, underline=True)


class GateText(Widget, can_focus=True):
    DEFAULT_CSS = """
    GateText { width: 1fr; height: 1fr; padding: 0 1; }
    """
    cursor: reactive[int] = reactive(0)
    selection_anchor: reactive[int | None] = reactive(None)  # the selection's other end (shift+arrows)

    class CursorMoved(Message):
        """The cursor was put on a character with the mouse."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.chars: tuple[str, ...] = ()
        self.values: list[float] = []
        self.diverging = True
        self.top_row = 0
        self._rows: list[int] = [0]
        self._rows_width = -1

    def set_data(self, chars: Iterable[str], values: Iterable[float], diverging: bool) -> None:
        chars = tuple(chars)
        if chars != self.chars:  # another unit, gate or layer of the same text keeps its rows
            self._rows_width = -1
        self.chars, self.values, self.diverging = chars, list(values), diverging
        self.cursor = min(self.cursor, max(0, len(self.chars) - 1))
        self.refresh()

    @property
    def capacity(self) -> int:
        """How many characters can fill the pane at its current size (one per cell at most)."""
        return max(1, self.size.width) * max(1, self.size.height)

    @property
    def span(self) -> tuple[int, int]:
        if self.selection_anchor is None:
            return self.cursor, self.cursor + 1
        return min(self.selection_anchor, self.cursor), max(self.selection_anchor, self.cursor) + 1

    @property
    def rows(self) -> list[int]:
        width = max(2, self.size.width)
        if self._rows_width != width:
            self._rows = wrap_rows(self.chars, width)
            self._rows_width = width
        return self._rows

    def _first_row(self) -> int:
        """Scroll just enough to show the cursor, never past the point where the pane stops being full."""
        rows, height = self.rows, max(1, self.size.height)
        cursor_row = row_of(rows, self.cursor)
        if cursor_row < self.top_row:
            self.top_row = cursor_row
        elif cursor_row >= self.top_row + height:
            self.top_row = cursor_row - height + 1
        self.top_row = max(0, min(self.top_row, self._row_count() - height))
        return self.top_row

    def _row_count(self) -> int:
        rows = self.rows
        return len(rows) - (rows[-1] >= len(self.chars) and len(rows) > 1)

    def render(self) -> Text:
        out = Text(no_wrap=True, overflow="crop")
        if not self.chars:
            out.append("tracing\u2026", style="dim")
            return out
        rows, height = self.rows, max(1, self.size.height)
        first = self._first_row()
        lo, hi = self.span
        for r in range(first, min(first + height, self._row_count())):
            if r > first:
                out.append("\n")
            stop = rows[r + 1] if r + 1 < len(rows) else len(self.chars)
            run, run_style = "", None  # neighbours of one colour go in together: fewer spans to draw
            for i in range(rows[r], stop):
                style = value_style(self.values[i], self.diverging)
                if lo <= i < hi:
                    style = style + CURSOR
                if style is not run_style and run:
                    out.append(run, style=run_style)
                    run = ""
                run, run_style = run + shown(self.chars[i], NEWLINE_MARK), style
            if run:
                out.append(run, style=run_style)
        return out

    def index_at(self, x: int, y: int) -> int | None:
        """The character drawn at content cell (x, y), or None."""
        from rnn_tui.ui.widgets.text_layout import cells

        rows = self.rows
        r = self.top_row + y
        if r >= self._row_count() or x < 0:
            return None
        stop = rows[r + 1] if r + 1 < len(rows) else len(self.chars)
        column = 0
        for i in range(rows[r], stop):
            column += cells(self.chars[i])
            if x < column:
                return i
        return max(rows[r], stop - 1) if stop > rows[r] else None

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = self.index_at(offset.x, offset.y)
        if index is not None:
            self.selection_anchor = None
            self.cursor = index
            self.post_message(self.CursorMoved())

    def on_resize(self) -> None:
        self._rows_width = -1

    def watch_cursor(self) -> None:
        self.refresh()

    def watch_selection_anchor(self) -> None:
        self.refresh()

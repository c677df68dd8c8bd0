"""Generated text: scrollable, following the end while it grows, optionally coloured by
the model's confidence, with a cursor on one inspected character.

Rows are laid out once (text_layout) and drawn line by line, so a long sample
costs the same to redraw as a short one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from rnn_tui.ui.widgets.colour import value_style
from rnn_tui.ui.widgets.text_layout import NEWLINE_MARK, row_of, shown, wrap_rows

if TYPE_CHECKING:
    from rnn_tui.core.sampling import Token

PRIME = Style(bold=True, underline=True)
CURSOR = Style(reverse=True, bold=True, underline=True)


class SampleOutput(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    SampleOutput { width: 100%; height: 1fr; padding: 0 1; overflow-x: hidden; scrollbar-gutter: stable; }
    """
    confidence: reactive[bool] = reactive(False)
    cursor: reactive[int] = reactive(-1)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.prime = ""
        self.tokens: list[Token] = []
        self.chars: list[str] = []
        self.rows: list[int] = [0]
        self._rows_width = 0
        self.following = True  # at the end: stay there as text arrives; scrolled back: stay put

    # ---- content ------------------------------------------------------------
    def reset(self, prime: str, tokens: Iterable[Token] = ()) -> None:
        self.prime, self.tokens = prime, list(tokens)
        self.chars = list(prime) + [t.char for t in self.tokens]
        self.cursor = -1
        self._relayout()
        self.following = True
        self.scroll_end(animate=False, x_axis=False)

    def extend(self, tokens: list[Token]) -> None:
        if not tokens:
            return
        self.tokens.extend(tokens)
        self.chars.extend(t.char for t in tokens)
        if self._width() != self._rows_width:
            self._relayout()  # the width changed under us: every row, not just the new ones
        else:
            last = self.rows.pop()
            self.rows.extend(wrap_rows(self.chars, self._width(), last))
            self._set_virtual_size()
        self.refresh()
        if self.following and not self.is_vertical_scrollbar_grabbed:
            self.scroll_end(animate=False, x_axis=False)  # after the layout knows the new height

    @property
    def text(self) -> str:
        return self.prime + "".join(t.char for t in self.tokens)

    # ---- layout -------------------------------------------------------------
    def _width(self) -> int:
        return max(2, self.scrollable_content_region.width)

    def _relayout(self) -> None:
        self.rows = wrap_rows(self.chars, self._width())
        self._rows_width = self._width()
        self._set_virtual_size()
        self.refresh()

    def _set_virtual_size(self) -> None:
        count = len(self.rows) - (len(self.rows) > 1 and self.rows[-1] >= len(self.chars))
        self.virtual_size = Size(self._width(), count)

    def on_resize(self) -> None:
        if self._width() != self._rows_width:
            following = self.following
            self._relayout()
            if self.cursor >= 0:
                self.call_after_refresh(self._show_cursor)
            elif following:
                self.scroll_end(animate=False, x_axis=False)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if new < old:
            self.following = False
        if new >= self.max_scroll_y:
            self.following = True

    # ---- drawing ------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        row = y + int(self.scroll_offset.y)
        if row >= len(self.rows) or (row == len(self.rows) - 1 and self.rows[row] >= len(self.chars)):
            return Strip.blank(width, base)
        stop = self.rows[row + 1] if row + 1 < len(self.rows) else len(self.chars)
        primed = len(self.prime)
        segments = []
        for i in range(self.rows[row], stop):
            ch = self.chars[i]
            if i < primed:
                style = PRIME
            else:
                token = self.tokens[i - primed]
                style = value_style(token.prob, False) if self.confidence else Style()
                if i - primed == self.cursor:
                    style = style + CURSOR
            mark = (
                NEWLINE_MARK
                if (i >= primed and i - primed == self.cursor) or (self.confidence and i >= primed)
                else " "
            )
            segments.append(Segment(shown(ch, mark), base + style))
        return Strip(segments).crop_extend(0, width, base)

    def _show_cursor(self) -> None:
        if self.cursor < 0:
            return
        row = row_of(self.rows, len(self.prime) + self.cursor)
        top, height = int(self.scroll_offset.y), self.scrollable_content_region.height
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False, immediate=True)

    def watch_confidence(self) -> None:
        self.refresh()

    def watch_cursor(self) -> None:
        self._show_cursor()
        self.refresh()

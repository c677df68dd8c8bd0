"""Lay characters out in rows of a given width, one style per character.

The gate view and the sampling output colour every character on its own, so
they wrap text themselves (rich would re-wrap a styled Text on every frame):
rows are index ranges into the character list, a finished row never changes,
and only the last row is laid out again when characters are appended.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len

from rnn_tui.core.textutil import visible_char

NEWLINE_MARK = "\u21b5"  # ↵
SPACE_MARK = "\u2423"  # ␣


def shown(ch: str, newline: str = " ") -> str:
    """What one character draws as: ``newline`` for a line break, control characters made visible."""
    return newline if ch == "\n" else visible_char(ch)


def cells(ch: str) -> int:
    return 1 if ch == "\n" else max(0, cell_len(visible_char(ch)))


def wrap_rows(chars: Sequence[str], width: int, start: int = 0) -> list[int]:
    """Start indices of the rows from ``start`` on: a newline ends its row (drawn as one cell);
    a row too long breaks after its last space, or mid-word when a word is wider than the row."""
    width = max(2, width)
    rows = [start]
    column = 0
    after_space = None
    for i in range(start, len(chars)):
        ch = chars[i]
        w = cells(ch)
        if column + w > width and column > 0:
            if after_space is not None and after_space > rows[-1]:
                rows.append(after_space)
                column = sum(cells(c) for c in chars[after_space:i])
            else:
                rows.append(i)
                column = 0
            after_space = None
        column += w
        if ch == "\n":
            rows.append(i + 1)
            column, after_space = 0, None
        elif ch == " ":
            after_space = i + 1
    return rows


def row_of(rows: Sequence[int], index: int) -> int:
    """The row holding character ``index`` (rows as from wrap_rows)."""
    from bisect import bisect_right

    return max(0, bisect_right(rows, index) - 1)


def visible_whitespace(ch: str) -> str:
    """A character shown alone (the model's guesses): whitespace as a symbol, never as nothing."""
    return {" ": SPACE_MARK, "\n": NEWLINE_MARK, "\t": "\u21e5"}.get(ch) or visible_char(ch)

"""Colour scales for activations. Truecolor in; Textual maps them to 256 colours when needed."""

from __future__ import annotations

from rich.color import Color
from rich.style import Style
from rich.text import Text


def _mix(a, b, t):
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b))


NEGATIVE, MIDDLE, POSITIVE = (33, 102, 172), (60, 60, 60), (214, 64, 48)
LOW, HIGH = (20, 20, 60), (250, 220, 40)


def value_rgb(value: float, diverging: bool) -> tuple[int, int, int]:
    value = max(-1.0, min(1.0, value)) if diverging else max(0.0, min(1.0, value))
    if diverging:
        return _mix(MIDDLE, POSITIVE, value) if value >= 0 else _mix(MIDDLE, NEGATIVE, -value)
    return _mix(LOW, HIGH, value)


def value_style(value: float, diverging: bool) -> Style:
    r, g, b = value_rgb(value, diverging)
    luminance = 0.299 * r + 0.587 * g + 0.114 * b
    return Style(bgcolor=Color.from_rgb(r, g, b), color="black" if luminance > 140 else "white")


def legend(diverging: bool, width: int = 21) -> Text:
    out = Text("-1 " if diverging else "0 ", style="dim")
    for k in range(width):
        t = k / (width - 1)
        out.append(" ", style=value_style(t * 2 - 1 if diverging else t, diverging))
    out.append(" +1" if diverging else " 1", style="dim")
    return out

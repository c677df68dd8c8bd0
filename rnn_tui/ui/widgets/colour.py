"""Colour scales for numbers drawn as cell backgrounds.

Every level is an exact xterm-256 colour, so a 256-colour terminal shows the
same scale as a truecolor one, and the levels were picked so that rich's
downgrade to the 16 standard colours is still ordered by lightness: the scale
reads the same way in truecolor, 256 and 16 colours. The text colour of each
level is whichever of black or white keeps more contrast in all three.
"""

from __future__ import annotations

import math
from functools import cache

from rich.color import EIGHT_BIT_PALETTE, Color, ColorSystem
from rich.style import Style
from rich.text import Text

# xterm-256 numbers. 0..1: navy, purple, blue, teal, green, yellow (viridis-like), darkest first.
SEQUENTIAL = (17, 53, 54, 61, 30, 66, 72, 77, 148, 220, 227)
# -1..1: dark grey at 0; blues grow lighter towards -1, reds/oranges towards +1.
NEUTRAL = 235
NEGATIVE = (19, 25, 32, 75, 117)
POSITIVE = (88, 160, 202, 214, 220)

BLACK, WHITE = Color.from_rgb(0, 0, 0), Color.from_rgb(255, 255, 255)


def xterm(number: int) -> Color:
    return Color.from_rgb(*EIGHT_BIT_PALETTE[number])


def luminance(color: Color) -> float:
    """WCAG relative luminance of the colour as rich's default theme shows it."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = color.get_truecolor()
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: Color, b: Color) -> float:
    la, lb = sorted((luminance(a), luminance(b)))
    return (lb + 0.05) / (la + 0.05)


def worst_contrast(foreground: Color, background: Color) -> float:
    """The lowest contrast of the pair in truecolor, 256 and 16 colours."""
    return min(
        contrast(foreground.downgrade(system), background.downgrade(system))
        for system in (ColorSystem.TRUECOLOR, ColorSystem.EIGHT_BIT, ColorSystem.STANDARD)
    )


@cache
def level_style(number: int) -> Style:
    background = xterm(number)
    text = max((BLACK, WHITE), key=lambda fg: worst_contrast(fg, background))
    return Style(bgcolor=background, color=text)


def level(value: float, diverging: bool) -> int:
    """The xterm colour number for a value (clamped to 0..1, or -1..1 when diverging)."""
    if math.isnan(value):  # the middle of the scale rather than a crash
        value = 0.0 if diverging else 0.5
    if not diverging:
        value = max(0.0, min(1.0, value))
        return SEQUENTIAL[round(value * (len(SEQUENTIAL) - 1))]
    value = max(-1.0, min(1.0, value))
    step = round(abs(value) * len(POSITIVE))
    if step == 0:
        return NEUTRAL
    return (POSITIVE if value > 0 else NEGATIVE)[step - 1]


def value_style(value: float, diverging: bool) -> Style:
    return level_style(level(value, diverging))


def scale_levels(diverging: bool) -> list[int]:
    """The levels from the lowest value to the highest, as the legend draws them."""
    if diverging:
        return [*reversed(NEGATIVE), NEUTRAL, *POSITIVE]
    return list(SEQUENTIAL)


def legend(diverging: bool, low: str | None = None, high: str | None = None) -> Text:
    """A small bar of the scale between its end values: ``0 ▇▇▇ 1`` or ``-1 ▇▇▇ +1``."""
    out = Text(low if low is not None else ("-1 " if diverging else "0 "), style="dim")
    for number in scale_levels(diverging):
        out.append(" ", style=level_style(number))
    out.append(high if high is not None else (" +1" if diverging else " 1"), style="dim")
    return out

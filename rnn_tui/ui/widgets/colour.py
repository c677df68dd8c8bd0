"""Colour scales for numbers drawn as cell backgrounds.

Every level is an exact xterm-256 colour, so a 256-colour terminal shows the
same scale as a truecolor one. Rich downgrades a level to one of the 16 standard
colours, and terminals disagree on what those look like, so the levels were
picked so that the downgraded scale still grows lighter under every palette in
``SIXTEEN_COLOUR_PALETTES``. The text colour of each level is whichever of black
or white keeps more contrast in all of them.
"""

from __future__ import annotations

import math
from functools import cache

from rich._palettes import STANDARD_PALETTE, WINDOWS_PALETTE
from rich.color import EIGHT_BIT_PALETTE, Color, ColorSystem, ColorTriplet
from rich.palette import Palette
from rich.style import Style
from rich.terminal_theme import DEFAULT_TERMINAL_THEME
from rich.text import Text

# xterm-256 numbers, darkest first. 0..1: navy, purple, teal, green, yellow (viridis-like);
# in 16 colours: blue, magenta, cyan, bright green, bright yellow.
SEQUENTIAL = (17, 18, 53, 55, 92, 30, 36, 41, 118, 191, 227)
# -1..1: dark grey at 0; blues grow lighter towards -1, reds/oranges towards +1.
NEUTRAL = 235
NEGATIVE = (19, 21, 32, 75, 117)
POSITIVE = (88, 160, 202, 214, 220)

BLACK, WHITE = Color.from_rgb(0, 0, 0), Color.from_rgb(255, 255, 255)

# xterm's default 16 colours; rich has no copy of them.
XTERM_PALETTE = Palette(
    [
        (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0),
        (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
        (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0),
        (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
    ]
)  # fmt: skip
# What a 16-colour terminal may draw for colour numbers 0-15: xterm, the VGA-like table rich
# downgrades with, the Windows console (Campbell), and rich's default theme.
SIXTEEN_COLOUR_PALETTES = {
    "xterm": XTERM_PALETTE,
    "rich standard": STANDARD_PALETTE,
    "windows": WINDOWS_PALETTE,
    "rich theme": DEFAULT_TERMINAL_THEME.ansi_colors,
}


def xterm(number: int) -> Color:
    return Color.from_rgb(*EIGHT_BIT_PALETTE[number])


def renderings(color: Color) -> list[ColorTriplet]:
    """The colour as terminals may draw it: truecolor, 256 colours, then 16 colours
    under each palette, with rich's downgrade for a Windows console last."""
    out = [color.get_truecolor(), color.downgrade(ColorSystem.EIGHT_BIT).get_truecolor()]
    number = color.downgrade(ColorSystem.STANDARD).number
    assert number is not None
    out += [palette[number] for palette in SIXTEEN_COLOUR_PALETTES.values()]
    out.append(color.downgrade(ColorSystem.WINDOWS).get_truecolor())
    return out


def relative_luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG relative luminance."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = rgb
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def luminance(color: Color) -> float:
    """WCAG relative luminance of the colour as rich's default theme shows it."""
    return relative_luminance(color.get_truecolor())


def contrast(a: Color | tuple[int, int, int], b: Color | tuple[int, int, int]) -> float:
    la, lb = sorted(luminance(c) if isinstance(c, Color) else relative_luminance(c) for c in (a, b))
    return (lb + 0.05) / (la + 0.05)


def worst_contrast(foreground: Color, background: Color) -> float:
    """The lowest contrast of the pair over every way a terminal may draw them."""
    return min(contrast(fg, bg) for fg, bg in zip(renderings(foreground), renderings(background), strict=True))


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

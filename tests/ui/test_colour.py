"""The colour scales read the same way in truecolor, 256 and 16 colours."""

import math
from itertools import pairwise

import pytest
from rich._palettes import STANDARD_PALETTE, WINDOWS_PALETTE
from rich.color import EIGHT_BIT_PALETTE, ColorSystem
from rich.terminal_theme import DEFAULT_TERMINAL_THEME

from rnn_tui.ui.widgets.colour import (
    NEUTRAL,
    legend,
    level,
    level_style,
    scale_levels,
    value_style,
    worst_contrast,
    xterm,
)

# xterm's default colours 0-15, written out here so the test does not trust the module's copy.
XTERM_16 = [
    (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205),
    (229, 229, 229), (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255),
    (255, 0, 255), (0, 255, 255), (255, 255, 255),
]  # fmt: skip


def wcag(rgb) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = rgb
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def standard(number: int) -> int:
    return xterm(number).downgrade(ColorSystem.STANDARD).number


# How each kind of terminal draws a level (an xterm-256 number): (name, level -> rgb).
VIEWS = {
    "truecolor": lambda n: EIGHT_BIT_PALETTE[n],
    "256": lambda n: EIGHT_BIT_PALETTE[xterm(n).downgrade(ColorSystem.EIGHT_BIT).number],
    "16 xterm": lambda n: XTERM_16[standard(n)],
    "16 rich standard": lambda n: STANDARD_PALETTE[standard(n)],
    "16 windows terminal": lambda n: WINDOWS_PALETTE[standard(n)],
    "16 rich theme": lambda n: DEFAULT_TERMINAL_THEME.ansi_colors[standard(n)],
    "windows console": lambda n: WINDOWS_PALETTE[xterm(n).downgrade(ColorSystem.WINDOWS).number],
}


def lightness(value: float, diverging: bool, view: str) -> float:
    return wcag(VIEWS[view](level(value, diverging)))


@pytest.mark.parametrize("view", VIEWS)
def test_zero_to_one_scale_is_monotone_in_lightness(view):
    values = [k / 200 for k in range(201)]
    seen = [lightness(v, False, view) for v in values]
    assert all(b >= a for a, b in pairwise(seen)), (view, [round(x, 3) for x in seen[::20]])
    assert seen[-1] - seen[0] > 0.5  # and it actually spans dark to light


def test_zero_to_one_scale_in_xterm_16_colours():
    """The audit's case: 16-colour backgrounds used to go cyan, dark grey, light grey, green."""
    numbers = [standard(n) for n in scale_levels(False)]
    assert numbers == sorted(numbers, key=lambda k: wcag(XTERM_16[k]))
    assert len(set(numbers)) >= 5  # still a scale, not two colours


@pytest.mark.parametrize("view", VIEWS)
def test_signed_scale_grows_lighter_away_from_zero_on_each_side(view):
    for sign in (1, -1):
        seen = [lightness(sign * k / 100, True, view) for k in range(101)]
        assert all(b >= a for a, b in pairwise(seen)), (view, sign)
        assert seen[-1] > seen[0]


@pytest.mark.parametrize("system", (ColorSystem.EIGHT_BIT, ColorSystem.STANDARD))
def test_signs_stay_apart_after_downgrade(system):
    for magnitude in (0.4, 0.6, 0.8, 1.0):
        up = value_style(magnitude, True).bgcolor.downgrade(system)
        down = value_style(-magnitude, True).bgcolor.downgrade(system)
        assert up.number != down.number, (system, magnitude)


def test_levels_are_exact_xterm_colours():
    """So a 256-colour terminal shows exactly the truecolor scale."""
    for diverging in (False, True):
        for number in scale_levels(diverging):
            assert xterm(number).downgrade(ColorSystem.EIGHT_BIT).number == number


def test_text_colour_keeps_contrast_on_every_level():
    for diverging in (False, True):
        for number in scale_levels(diverging):
            assert worst_contrast(level_style(number).color, xterm(number)) >= 4.0, number


@pytest.mark.parametrize("view", VIEWS)
def test_text_colour_is_readable_in_each_terminal(view):
    """Against the test's own palettes; black text is drawn as xterm 16, white as 231."""
    for diverging in (False, True):
        for number in scale_levels(diverging):
            text = 16 if level_style(number).color.get_truecolor() == (0, 0, 0) else 231
            dark, light = sorted((wcag(VIEWS[view](text)), wcag(VIEWS[view](number))))
            assert (light + 0.05) / (dark + 0.05) >= 4.0, (view, number)


def test_out_of_range_and_nan_values_are_clamped():
    assert level(-5, False) == level(0, False) and level(7, False) == level(1, False)
    assert level(math.nan, True) == NEUTRAL and level(math.nan, False) == level(0.5, False)


def test_legend_shows_every_level_between_its_ends():
    bar = legend(False)
    assert bar.plain.startswith("0 ") and bar.plain.endswith(" 1")
    assert len(bar.plain) == len("0 ") + len(scale_levels(False)) + len(" 1")
    signed = legend(True, "-1 ", " +1")
    assert signed.plain.startswith("-1 ") and signed.plain.endswith(" +1")

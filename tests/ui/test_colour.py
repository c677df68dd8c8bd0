"""The colour scales read the same way in truecolor, 256 and 16 colours."""

import math
from itertools import pairwise

import pytest
from rich.color import ColorSystem

from rnn_tui.ui.widgets.colour import (
    NEUTRAL,
    legend,
    level,
    level_style,
    luminance,
    scale_levels,
    value_style,
    worst_contrast,
    xterm,
)

SYSTEMS = (ColorSystem.TRUECOLOR, ColorSystem.EIGHT_BIT, ColorSystem.STANDARD)


def lightness(value: float, diverging: bool, system: ColorSystem) -> float:
    return luminance(value_style(value, diverging).bgcolor.downgrade(system))


@pytest.mark.parametrize("system", SYSTEMS)
def test_zero_to_one_scale_is_monotone_in_lightness(system):
    values = [k / 200 for k in range(201)]
    seen = [lightness(v, False, system) for v in values]
    assert all(b >= a for a, b in pairwise(seen)), system
    assert seen[-1] - seen[0] > 0.5  # and it actually spans dark to light


@pytest.mark.parametrize("system", SYSTEMS)
def test_signed_scale_grows_lighter_away_from_zero_on_each_side(system):
    for sign in (1, -1):
        seen = [lightness(sign * k / 100, True, system) for k in range(101)]
        assert all(b >= a for a, b in pairwise(seen)), (system, sign)
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
    # dark cells get light text, light cells dark text
    assert luminance(value_style(0.0, False).color) > 0.9
    assert luminance(value_style(1.0, False).color) < 0.1


def test_out_of_range_and_nan_values_are_clamped():
    assert level(-5, False) == level(0, False) and level(7, False) == level(1, False)
    assert level(math.nan, True) == NEUTRAL and level(math.nan, False) == level(0.5, False)


def test_legend_shows_every_level_between_its_ends():
    bar = legend(False)
    assert bar.plain.startswith("0 ") and bar.plain.endswith(" 1")
    assert len(bar.plain) == len("0 ") + len(scale_levels(False)) + len(" 1")
    signed = legend(True, "-1 ", " +1")
    assert signed.plain.startswith("-1 ") and signed.plain.endswith(" +1")

"""The plot's axes and the loss chart's smoothing, on the drawn text."""

import math
import re
from itertools import pairwise

import pytest

from rnn_tui.ui.widgets.loss_chart import LossChart, windowed_mean
from rnn_tui.ui.widgets.plot import Series, render_plot, tick_labels

ROUND = {1.0, 2.0, 2.5, 5.0}


def y_labels(text) -> list[str]:
    """The labels left of the y axis (rows ending in the tick mark)."""
    return [line.split("\u2524")[0].strip() for line in text.plain.splitlines() if "\u2524" in line]


def x_labels(text) -> list[str]:
    return text.plain.splitlines()[-1].split()


def mantissa(step: float) -> float:
    return round(step / 10 ** math.floor(math.log10(step)), 6)


@pytest.mark.parametrize("height", [12, 24, 38])
@pytest.mark.parametrize(
    "low, high", [(4.330, 4.334), (1.3601, 1.3605), (2.0, 4.2), (0.5, 0.51), (1e-3, 3e-3), (90.0, 1400.0)]
)
def test_y_ticks_are_round_distinct_and_in_order(low, high, height):
    points = tuple((s, low + (high - low) * s / 99) for s in range(100))
    labels = y_labels(render_plot([Series(points, "cyan")], 60, height))
    assert len(labels) >= 2, labels
    assert len(set(labels)) == len(labels), labels  # never "4.33" five times
    values = [float(x.replace(",", "").replace("k", "e3")) for x in labels]
    assert values == sorted(values, reverse=True)
    steps = {round(a - b, 9) for a, b in pairwise(values)}
    assert len(steps) == 1 and mantissa(steps.pop()) in ROUND, labels


def test_tick_labels_take_the_decimals_the_spacing_needs():
    assert tick_labels([2.0, 2.025, 2.05], 0.025) == ["2.000", "2.025", "2.050"]
    assert tick_labels([0.0, 0.5, 1.0], 0.5) == ["0", "0.5", "1.0"]  # no "-0.0" or "0.0"
    assert tick_labels([10_000.0, 12_500.0], 2500.0) == ["10.0k", "12.5k"]


def test_log_axis_is_labelled_by_decades_and_the_x_axis_by_round_steps():
    rows = [tuple((d, -d / 8) for d in range(100)), tuple((d, -d / 20 + 0.3) for d in range(100))]
    text = render_plot([Series(r, "cyan") for r in rows], 78, 16, x_label="distance T-t", log_y=True, x_range=(0, 99))
    labels = y_labels(text)
    assert len(labels) >= 3 and all(re.fullmatch(r"1e-\d+|0\.1|1|10", x) for x in labels), labels
    assert len(set(labels)) == len(labels)
    ticks = [x for x in x_labels(text) if x.isdigit()]
    assert len(ticks) >= 4 and ticks[0] == "0", ticks
    steps = {int(b) - int(a) for a, b in pairwise(ticks)}
    assert len(steps) == 1 and mantissa(steps.pop()) in ROUND
    assert "distance T-t" in text.plain.splitlines()[-1]


@pytest.mark.parametrize("width", [30, 44, 80, 113])
def test_x_labels_never_touch_and_stay_inside(width):
    points = tuple((s, 3 - s / 1e5) for s in range(1_000, 123_457, 500))
    text = render_plot([Series(points, "cyan")], width, 10, x_label="step")
    lines = text.plain.splitlines()
    assert all(len(line) <= width for line in lines)
    labels = [x for x in x_labels(text) if x != "step"]
    assert len(labels) >= 2 and len(set(labels)) == len(labels)
    assert "  " in lines[-1].strip()  # at least two spaces between labels


def test_markers_are_drawn_over_lines_whatever_the_order():
    line = tuple((s, 1.0) for s in range(100))
    text = render_plot([Series(((50, 1.0),), "yellow", marker="\u25cf"), Series(line, "cyan")], 40, 8)
    assert "\u25cf" in text.plain


def test_smoothing_starts_at_the_raw_value_and_follows_a_step_within_a_few_points():
    raw = [(s, 4.0 if s < 100 else 2.0) for s in range(1, 201)]
    smooth = windowed_mean(raw, max(1.0, 199 * 0.02))
    assert smooth[0] == raw[0] and smooth[:3] == raw[:3]
    after = [v for s, v in smooth if s >= 100]
    assert all(abs(v - 2.0) < 0.05 for v in after[5:]), after[:8]  # an EMA(0.9) is still 1.2 off here


def test_loss_chart_smoothing_follows_a_falling_loss_closely():
    chart = LossChart()
    chart.add_losses([(s, 4.0 - 0.01 * s) for s in range(1, 101)])
    assert chart.smooth[0] == chart.train[0]
    lag = chart.train[-1][1] - chart.smooth[-1][1]
    assert abs(lag) < 0.02, lag  # the old EMA lagged ~0.09 here (9 steps at 0.01 per step)
    assert chart.latest_smoothed == chart.smooth[-1][1]


def test_history_goes_ahead_of_live_points_and_halving_keeps_order():
    chart = LossChart()
    chart.add_losses([(101, 2.0), (102, 1.9)])
    chart.add_history([(10, 3.0), (100, 2.1), (101, 9.9)], [(50, 2.5), (float("nan"), 1.0)])
    assert [s for s, _ in chart.train] == [10, 100, 101, 102]
    chart.add_losses([(s, 1.5) for s in range(103, 103 + 5000)])
    steps = [s for s, _ in chart.train]
    assert len(steps) <= 4096 and steps == sorted(steps)


def test_a_marker_on_another_series_marker_steps_aside():
    a = Series(((100, 2.3145),), "red", marker="\u25cf")
    b = Series(((100, 2.3400),), "green", marker="\u25b2")
    line = Series(tuple((s, 4.0 - s / 50) for s in range(101)), "cyan")
    text = render_plot([line, a, b], 60, 12).plain
    assert "\u25cf" in text and "\u25b2" in text


def line_dots(pts):
    """Every dot the plot's line drawing visits for these dots, in order (the reference)."""
    seen = set()
    for (ax, ay), (bx, by) in zip(pts, pts[1:] or pts):
        steps = max(abs(bx - ax), abs(by - ay), 1)
        seen.update((ax + (bx - ax) * k // steps, ay + (by - ay) * k // steps) for k in range(steps + 1))
    return seen


def test_a_long_history_is_drawn_in_few_segments_with_exactly_the_same_dots():
    import random

    from rnn_tui.ui.widgets.plot import _one_column_once

    rng = random.Random(7)
    for n, columns in ((4096, 80), (300, 80), (50, 200), (7, 3), (1, 1), (2, 1)):
        xs = sorted(rng.randrange(columns) for _ in range(n))
        pts = [(x, rng.randrange(60)) for x in xs]
        short = _one_column_once(pts)
        assert line_dots(short) == line_dots(pts), (n, columns)
        assert short[0] == pts[0] and short[-1] == pts[-1]
        assert len(short) <= 4 * len(set(xs))
    long = [(x // 50, 30 + (x * 7919) % 13) for x in range(4096)]
    assert len(_one_column_once(long)) < 400  # thousands of points on ~80 columns: a few hundred segments


def test_the_chart_of_a_long_noisy_history_shows_its_spread():
    """The raw curve's spread in each column survives the shortening: the braille cells cover it."""
    pts = tuple((float(s), 2.0 + (0.5 if s % 2 else -0.5)) for s in range(4096))
    drawn = render_plot([Series(pts, "grey42")], 40, 12).plain
    rows = [
        line.split("\u2502", 1)[-1] if "\u2502" in line else line.split("\u2524", 1)[-1]
        for line in drawn.splitlines()[:-2]
    ]
    filled = [r for r in rows if any(0x2800 < ord(c) < 0x2900 for c in r)]
    assert len(filled) >= 8  # from 1.5 to 2.5: the whole band, not a line through the middle

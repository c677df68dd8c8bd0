"""A braille line plot as a Rich ``Text``: 2x4 dots per terminal cell, no dependency.

Lines are drawn in order (where two share a cell the later one's colour wins),
then every marker series on top, so validation points are never covered by a line;
a marker landing on another series' marker steps into a free neighbouring cell.
Axes carry round ticks (1, 2, 2.5, 5 x 10^k), each label whole and different
from the others. Pure functions of their inputs, so tests can assert on the text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import pairwise

from rich.text import Text

_DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))  # [row][column] within a cell
_MANTISSAS = (1.0, 2.0, 2.5, 5.0)
Span = tuple[int, int, str, int]  # a tick label on the x axis: start, end, text, tick column


@dataclass(frozen=True)
class Series:
    points: tuple[tuple[float, float], ...]
    style: str
    marker: str | None = None  # draw each point as this character instead of a line


def nice_steps(span: float, max_ticks: int) -> Iterator[float]:
    """Round tick spacings, smallest first, giving at most ``max_ticks`` intervals over ``span``."""
    span = max(span, 1e-12)
    exponent = math.floor(math.log10(span / max(max_ticks, 1)))
    while True:
        for mantissa in _MANTISSAS:
            step = mantissa * 10.0**exponent
            if span / step <= max_ticks + 1e-9:
                yield step
        exponent += 1


def ticks_between(lo: float, hi: float, step: float) -> list[float]:
    first = math.ceil(lo / step - 1e-9)
    last = math.floor(hi / step + 1e-9)
    return [k * step for k in range(first, last + 1)]


def tick_labels(values: list[float], step: float, decades: bool = False) -> list[str]:
    """Labels as short as the spacing allows; more decimals until no two read the same."""
    if decades:
        return [decade_label(v) for v in values]
    big = step >= 1000 and max(abs(v) for v in values) >= 10_000
    scale, suffix = (1000.0, "k") if big else (1.0, "")
    decimals = max(0, -math.floor(math.log10(step / scale) + 1e-9))
    if round(step / scale / 10.0**-decimals, 6) % 1:  # 2.5 x 10^k needs one more place
        decimals += 1
    for extra in range(4):
        labels = [f"{v / scale:,.{decimals + extra}f}{suffix}" for v in values]
        labels = ["0" if float(x.rstrip("k").replace(",", "")) == 0 else x for x in labels]  # no "-0.00"
        if len(set(labels)) == len(labels):
            return labels
    return labels


def decade_label(exponent: float) -> str:
    """10^k as ``1e-5``; 0.1, 1 and 10 as plain numbers."""
    k = round(exponent)
    return {-1: "0.1", 0: "1", 1: "10"}.get(k, f"1e{k}")


def render_plot(
    series: list[Series],
    width: int,
    height: int,
    x_label: str = "",
    axis_style: str = "dim",
    log_y: bool = False,
    x_range: tuple[float, float] | None = None,
) -> Text:
    """Draw ``series`` into ``width`` x ``height`` cells (axes and labels included).

    With ``log_y`` the y values are already log10 and the axis is labelled by decades.
    ``x_range`` fixes the x axis (else it spans the points).
    """
    out = Text(no_wrap=True, overflow="crop")
    bounds = _bounds(series)
    if bounds is None:
        out.append("waiting for the first steps\u2026", style=axis_style)
        return out
    x0, x1, y0, y1 = bounds
    if x_range:
        x0, x1 = x_range
    if x1 == x0:
        x1 = x0 + 1
    # A nearly flat curve is drawn flat, not magnified noise: at least 1% of its size (a decade on a log axis).
    least = 1.0 if log_y else max(abs(y0), abs(y1), 1e-6) * 0.01
    if y1 - y0 < least:
        middle = (y0 + y1) / 2
        y0, y1 = middle - least / 2, middle + least / 2
    pad = (y1 - y0) * 0.05
    y0, y1 = y0 - pad, y1 + pad

    plot_h = max(2, height - 2)
    y_ticks, y_labels = _y_axis(y0, y1, plot_h, log_y)
    label_w = max((len(x) for x in y_labels), default=1) + 1
    plot_w = max(4, width - label_w - 1)
    dots_w, dots_h = plot_w * 2, plot_h * 4

    def to_dot(x: float, y: float) -> tuple[int, int]:
        dx = round((x - x0) / (x1 - x0) * (dots_w - 1))
        dy = round((y1 - y) / (y1 - y0) * (dots_h - 1))
        return max(0, min(dots_w - 1, dx)), max(0, min(dots_h - 1, dy))

    def dots(points: tuple[tuple[float, float], ...]) -> list[tuple[int, int]]:
        """``to_dot`` of every finite point, inlined (a long history is thousands of points per frame)."""
        span_x, span_y, last_x, last_y = x1 - x0, y1 - y0, dots_w - 1, dots_h - 1
        out = []
        for x, y in points:
            if not math.isfinite(y):
                continue
            dx = round((x - x0) / span_x * last_x)
            dy = round((y1 - y) / span_y * last_y)
            out.append((0 if dx < 0 else last_x if dx > last_x else dx, 0 if dy < 0 else last_y if dy > last_y else dy))
        return out

    cells = [[0] * plot_w for _ in range(plot_h)]
    styles: list[list[str | None]] = [[None] * plot_w for _ in range(plot_h)]
    markers: dict[tuple[int, int], tuple[str, str]] = {}
    for s in [s for s in series if not s.marker] + [s for s in series if s.marker]:
        pts = dots(s.points)
        if s.marker:
            for dx, dy in pts:
                row, col = dy // 4, dx // 2
                taken = markers.get((row, col))
                if taken is not None and taken != (s.marker, s.style):  # another series' point: step aside
                    free = [
                        (r, c)
                        for r, c in ((row, col - 1), (row, col + 1), (row - 1, col), (row + 1, col))
                        if 0 <= r < plot_h and 0 <= c < plot_w and (r, c) not in markers
                    ]
                    row, col = free[0] if free else (row, col)
                markers[(row, col)] = (s.marker, s.style)
            continue
        pts = _one_column_once(pts)
        for (ax, ay), (bx, by) in zip(pts, pts[1:] or pts):
            steps = max(abs(bx - ax), abs(by - ay), 1)
            for k in range(steps + 1):
                dx = ax + (bx - ax) * k // steps
                dy = ay + (by - ay) * k // steps
                row, col = dy // 4, dx // 2
                cells[row][col] |= _DOTS[dy % 4][dx % 2]
                styles[row][col] = s.style

    label_rows = {to_dot(x0, t)[1] // 4: label for t, label in zip(y_ticks, y_labels)}
    for row in range(plot_h):
        label = label_rows.get(row)
        out.append(f"{label or '':>{label_w - 1}} " + ("\u2524" if label else "\u2502"), style=axis_style)
        for col in range(plot_w):
            if (row, col) in markers:
                ch, style = markers[(row, col)]
                out.append(ch, style=style)
            elif cells[row][col]:
                out.append(chr(0x2800 + cells[row][col]), style=styles[row][col])
            else:
                out.append(" ")
        out.append("\n")
    axis, labels = _x_axis(x0, x1, plot_w, lambda x: to_dot(x, y0)[0] // 2, x_label)
    out.append(" " * label_w + "\u2514" + axis + "\n", style=axis_style)
    out.append(" " * (label_w + 1) + labels, style=axis_style)
    return out


def _bounds(series: list[Series]) -> tuple[float, float, float, float] | None:
    """(least x, most x, least y, most y) over the points with a finite y; None if there are none."""
    finite = math.isfinite
    x0 = y0 = math.inf
    x1 = y1 = -math.inf
    for s in series:
        for x, y in s.points:
            if finite(y):
                x0, x1 = (x if x < x0 else x0), (x if x > x1 else x1)
                y0, y1 = (y if y < y0 else y0), (y if y > y1 else y1)
    return None if x0 == math.inf else (x0, x1, y0, y1)


def _one_column_once(pts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The same line with each run of points in one dot column cut to its first, lowest, highest and last.

    Consecutive points in one column join by a vertical line, so such a run covers its lowest to its
    highest dot whatever lies between: the dots drawn are the same, and a long history (thousands of
    points on ~80 columns) is drawn in ~300 segments instead of thousands.
    """
    out: list[tuple[int, int]] = []
    i, n = 0, len(pts)
    while i < n:
        j = i + 1
        column = pts[i][0]
        while j < n and pts[j][0] == column:
            j += 1
        if j - i <= 2:
            out.extend(pts[i:j])
        else:
            ys = [dy for _, dy in pts[i:j]]
            for dot in (pts[i], (column, min(ys)), (column, max(ys)), pts[j - 1]):
                if not out or out[-1] != dot:
                    out.append(dot)
        i = j
    return out


def _y_axis(y0: float, y1: float, plot_h: int, log_y: bool) -> tuple[list[float], list[str]]:
    """Round ticks at least two rows apart (one on a very short plot), so no two share a row."""
    gap = 2 if plot_h > 4 else 1
    max_ticks = max(1, (plot_h - 1) // gap)

    def row(value: float) -> int:
        return round((y1 - value) / (y1 - y0) * (plot_h * 4 - 1)) // 4

    for step in nice_steps(y1 - y0, max_ticks):
        if log_y and (step < 1 or step % 1):
            continue  # whole decades only
        values = ticks_between(y0, y1, step)
        rows = sorted(row(v) for v in values)
        if all(b - a >= gap for a, b in pairwise(rows)):
            return values, tick_labels(values, step, decades=log_y)
    return [], []  # pragma: no cover - a large enough step always leaves one tick or none


def _x_axis(x0: float, x1: float, plot_w: int, column: Callable[[float], int], x_label: str) -> tuple[str, str]:
    """The axis line with a tick mark under each label, and the label line with the axis name.

    The name goes after the last label when a round spacing with three or more labels
    leaves room there, else before the first, else into the widest gap, else it is left out.
    """
    layouts = []
    for step in nice_steps(x1 - x0, max(1, min(10, plot_w // 6))):
        if step % 1:
            continue  # steps and distances are whole numbers
        values = ticks_between(x0, x1, step)
        if not values:
            if step > 10 * (x1 - x0):
                break
            continue
        spans = []
        for value, label in zip(values, tick_labels(values, step)):
            start = max(0, min(plot_w - len(label), column(value) - len(label) // 2))
            spans.append((start, start + len(label), label, column(value)))
        if any(b[0] - a[1] < 2 for a, b in pairwise(spans)):
            continue
        layouts.append(spans)
        if len(spans) <= 2:
            break
    at_end = [s for s in layouts if len(s) >= min(3, len(layouts[0])) and plot_w - s[-1][1] >= len(x_label) + 2]
    at_start = [s for s in layouts if s and s[0][0] >= len(x_label) + 2]
    anywhere = [s for s in layouts if _name_slot(s, plot_w, x_label) is not None]
    spans = (at_end or at_start or anywhere or layouts or [[]])[0]
    line = ["\u2500"] * plot_w
    text = [" "] * plot_w
    for start, end, label, col in spans:
        line[col] = "\u252c"
        text[start:end] = label
    slot = plot_w - len(x_label) if at_end else 0 if at_start else _name_slot(spans, plot_w, x_label)
    if x_label and slot is not None:
        text[slot : slot + len(x_label)] = x_label
    return "".join(line), "".join(text).rstrip()


def _name_slot(spans: list[Span], plot_w: int, name: str) -> int | None:
    """Where the axis name fits between tick labels with two spaces either side (the widest gap)."""
    if not name:
        return None
    edges = [(-2, 0)] + [(s, e) for s, e, _, _ in spans] + [(plot_w + 2, plot_w + 2)]
    width, left = max((right - left, left) for (_, left), (right, _) in pairwise(edges))
    return left + (width - len(name)) // 2 if width >= len(name) + 4 else None

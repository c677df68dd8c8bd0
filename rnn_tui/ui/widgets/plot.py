"""A braille line plot as a Rich ``Text``: 2x4 dots per terminal cell, no dependency.

Series are drawn in order; where two share a cell the later one's style wins.
Pure functions of their inputs, so tests can assert on the drawn text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.text import Text

_DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))  # [row][column] within a cell


@dataclass(frozen=True)
class Series:
    points: tuple[tuple[float, float], ...]
    style: str
    marker: str | None = None  # draw each point as this character instead of a line


def nice_number(value: float) -> str:
    if value == 0 or not math.isfinite(value):
        return "0"
    if abs(value) >= 10_000:
        return f"{value / 1000:.0f}k"
    if abs(value) >= 1000:
        return f"{value / 1000:.1f}k"
    if abs(value) >= 10:
        return f"{value:.0f}"
    return f"{value:.2f}"


def render_plot(series: list[Series], width: int, height: int, x_label: str = "", axis_style: str = "dim") -> Text:
    """Draw ``series`` into ``width`` x ``height`` cells (axes and labels included)."""
    label_w = 7
    plot_w, plot_h = max(4, width - label_w - 1), max(2, height - 2)
    points = [p for s in series for p in s.points if math.isfinite(p[1])]
    out = Text(no_wrap=True, overflow="crop")
    if not points:
        out.append("waiting for the first steps\u2026", style=axis_style)
        return out
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y0, y1 = min(p[1] for p in points), max(p[1] for p in points)
    if x1 == x0:
        x1 = x0 + 1
    pad = (y1 - y0) * 0.05 or 0.05
    y0, y1 = y0 - pad, y1 + pad
    dots_w, dots_h = plot_w * 2, plot_h * 4
    cells = [[0] * plot_w for _ in range(plot_h)]
    styles: list[list[str | None]] = [[None] * plot_w for _ in range(plot_h)]
    markers: dict[tuple[int, int], tuple[str, str]] = {}

    def to_dot(x, y):
        dx = int(round((x - x0) / (x1 - x0) * (dots_w - 1)))
        dy = int(round((y1 - y) / (y1 - y0) * (dots_h - 1)))
        return max(0, min(dots_w - 1, dx)), max(0, min(dots_h - 1, dy))

    for s in series:
        pts = [to_dot(x, y) for x, y in s.points if math.isfinite(y)]
        if s.marker:
            for dx, dy in pts:
                markers[(dy // 4, dx // 2)] = (s.marker, s.style)
            continue
        for (ax, ay), (bx, by) in zip(pts, pts[1:] or pts):
            steps = max(abs(bx - ax), abs(by - ay), 1)
            for k in range(steps + 1):
                dx = ax + (bx - ax) * k // steps
                dy = ay + (by - ay) * k // steps
                row, col = dy // 4, dx // 2
                cells[row][col] |= _DOTS[dy % 4][dx % 2]
                styles[row][col] = s.style
    for row in range(plot_h):
        value = y1 - (y1 - y0) * row / max(plot_h - 1, 1)
        label = nice_number(value) if row % 2 == 0 or plot_h <= 4 else ""
        out.append(f"{label:>{label_w}}\u2502", style=axis_style)
        for col in range(plot_w):
            if (row, col) in markers:
                ch, style = markers[(row, col)]
                out.append(ch, style=style)
            elif cells[row][col]:
                out.append(chr(0x2800 + cells[row][col]), style=styles[row][col])
            else:
                out.append(" ")
        out.append("\n")
    out.append(" " * label_w + "\u2514" + "\u2500" * plot_w + "\n", style=axis_style)
    left, right = f"{x0:,.0f}", f"{x1:,.0f}"
    middle = f" {x_label} " if x_label else ""
    gap = max(1, plot_w - len(left) - len(right) - len(middle))
    out.append(" " * (label_w + 1) + left + " " * (gap // 2) + middle + " " * (gap - gap // 2) + right, style=axis_style)
    return out

"""Milliseconds to draw the loss chart of a long run (the chart keeps at most 4,096 points).

    python bench/chart.py

A noisy falling curve, its smoothed line and a validation point every 100 steps, drawn at the
dashboard's chart sizes for 80x24 and 120x40. A key that changes the chart waits for one of these.
"""

from __future__ import annotations

import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnn_tui.ui.widgets.loss_chart import smoothed  # noqa: E402
from rnn_tui.ui.widgets.plot import Series, render_plot  # noqa: E402


def main() -> None:
    rng = random.Random(0)
    for n in (500, 4096):
        train = tuple((float(s), 4.0 * math.exp(-s / 3000) + 1.2 + rng.gauss(0, 0.1)) for s in range(n))
        val = tuple((float(s), 4.0 * math.exp(-s / 3000) + 1.3) for s in range(0, n, 100))
        series = [Series(train, "grey42"), Series(tuple(smoothed(list(train))), "bold cyan"), Series(val, "y", "*")]
        for width, height in ((44, 15), (84, 30)):
            rounds = 20
            start = time.perf_counter()
            for _ in range(rounds):
                render_plot(series, width, height, x_label="step")
            ms = (time.perf_counter() - start) / rounds * 1000
            print(f"{n:5d} points, {width}x{height} cells: {ms:5.2f} ms per frame")


if __name__ == "__main__":
    main()

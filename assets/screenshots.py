"""Regenerate the README screenshots: python assets/screenshots.py (about a minute on a CPU).

``python assets/screenshots.py home`` makes only the home screen's picture (three short runs first).
"""

import asyncio
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("RNN_TUI_HOME", tempfile.mkdtemp())


async def main(seconds: float = 45.0) -> None:
    from rnn_tui.core.orchestrate import RunRequest
    from rnn_tui.ui.app import RnnTuiApp
    from rnn_tui.ui.bridge import TrainerBridge
    from rnn_tui.ui.launch import load_snapshot
    from rnn_tui.ui.viewer import ViewerApp

    corpus = str(HERE.parent / "rnn_tui" / "data" / "shakespeare_tragedies.txt")
    options = dict(hidden_size=128, layers=2, sample_every=3.0, eval_every=100, max_time=seconds)
    request = RunRequest(corpus, options, name="screenshot")
    app = RnnTuiApp(bridge_factory=lambda a: TrainerBridge(a, request))
    async with app.run_test(size=(80, 24)) as pilot:
        while app.finished is None:
            await pilot.pause(0.5)
        await pilot.pause(0.5)
        app.save_screenshot(str(HERE / "dashboard.svg"))
    run_dir = app.finished.run_dir
    viewer = ViewerApp(load_snapshot(run_dir, None), "gates")
    async with viewer.run_test(size=(80, 24)) as pilot:
        while viewer.screen.trace is None:
            await pilot.pause(0.1)
        await pilot.press("right_square_bracket", "o")
        await pilot.press("n")
        for _ in range(40):
            await pilot.press("right")
        await pilot.pause(0.3)
        viewer.save_screenshot(str(HERE / "gates.svg"))
    from rnn_tui.ui.screens.gradflow import GradFlowScreen
    from rnn_tui.ui.widgets.gradflow_plot import GradFlowPlot

    viewer = ViewerApp(load_snapshot(run_dir, None), "gates")
    async with viewer.run_test(size=(80, 24)) as pilot:
        while viewer.screen.trace is None:
            await pilot.pause(0.1)
        viewer.push_screen(GradFlowScreen())
        await pilot.pause()
        while viewer.screen.query_one(GradFlowPlot).flow is None:
            await pilot.pause(0.1)
        await pilot.pause(0.3)
        viewer.save_screenshot(str(HERE / "gradflow.svg"))

    from rnn_tui.ui.screens.compare import CompareScreen

    options = dict(hidden_size=128, layers=1, sample_every=3.0, eval_every=50, max_steps=250)
    request = RunRequest(corpus, options, name="compare", compare=("rnn", "lstm", "gru"))
    app = RnnTuiApp(bridge_factory=lambda a: TrainerBridge(a, request), compare=True)
    async with app.run_test(size=(80, 24)) as pilot:
        while not isinstance(app.screen, CompareScreen):
            await pilot.pause(0.5)
        await pilot.pause(0.5)
        app.save_screenshot(str(HERE / "compare.svg"))
    print("wrote", *(HERE / f"{n}.svg" for n in ("dashboard", "gates", "gradflow", "compare")))


async def home() -> None:
    """The home screen over three short runs: the hello demo, a GRU on the sonnets, an LSTM on the tragedies."""
    import subprocess

    from rnn_tui.ui.app import RnnTuiApp
    from rnn_tui.ui.screens.home import HomeScreen

    env = dict(os.environ, PYTHONPATH=str(HERE.parent))
    for args in (
        ["--demo", "hello", "--max-time", "8", "--name", "hello-rnn"],
        ["--demo", "sonnets", "--cell", "gru", "--hidden-size", "64", "--max-time", "25", "--name", "sonnets-gru"],
        ["--hidden-size", "64", "--max-time", "25", "--name", "tragedies-lstm"],
    ):
        subprocess.run(
            [sys.executable, "-m", "rnn_tui", "--headless", *args], env=env, check=True, stdout=subprocess.DEVNULL
        )
    from rnn_tui.core.paths import runs_dir

    app = RnnTuiApp(runs_root=runs_dir(None), home=True)
    async with app.run_test(size=(80, 24)) as pilot:
        while not (isinstance(app.screen, HomeScreen) and app.screen.loaded):
            await pilot.pause(0.1)
        await pilot.press("down")
        await pilot.pause(1.0)
        app.save_screenshot(str(HERE / "home.svg"))
    print("wrote", HERE / "home.svg")


if __name__ == "__main__":
    asyncio.run(home() if sys.argv[1:] == ["home"] else main())

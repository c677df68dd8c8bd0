"""Pictures of the gate view, its overview, the sampling screen and every help, at 80x24 and 120x40.

Built from a seeded tiny model and fixed text, so a cut label or a moved box shows up as a changed
picture. Update with `pytest tests/ui/test_snapshots_views.py --snapshot-update` and look at them.
"""

from pathlib import Path

import pytest
from textual.widgets import Input

from rnn_tui.ui.base import RnnTuiBase
from rnn_tui.ui.screens.help import TOPICS, HelpScreen
from rnn_tui.ui.viewer import ViewerApp
from rnn_tui.ui.widgets.sample_output import SampleOutput
from tests.ui.helpers import snapshot, wait_for

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
TEXT = (Path(__file__).resolve().parents[2] / "rnn_tui" / "data" / "shakespeare_tragedies.txt").read_text(
    encoding="utf-8"
)[:6000]
RUN = "/nonexistent/demo-run"  # named in titles; nothing is written there


def gates_app():
    return ViewerApp((snapshot("lstm", layers=2, hidden=16, text=TEXT), RUN), "gates", validation_text=TEXT)


def sample_app():
    return ViewerApp(
        (snapshot("lstm", layers=1, hidden=16, text=TEXT), RUN),
        "sample",
        {"length": 700, "seed": 3},
        validation_text=TEXT,
    )


async def traced(pilot):
    await wait_for(pilot, lambda: pilot.app.screen.trace is not None)
    await pilot.pause()


async def steady_inputs(pilot):
    for box in pilot.app.screen.query(Input):
        box.cursor_blink = False


async def sampled(pilot):
    await steady_inputs(pilot)
    await pilot.press(*"ROMEO.", "enter")
    screen = pilot.app.screen
    await wait_for(pilot, lambda: not screen.running and screen.query_one(SampleOutput).tokens)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_gate_view(snap_compare, size):
    async def run_before(pilot):
        await traced(pilot)
        await pilot.press(*["right"] * 7, "shift+right", "shift+right", "shift+right")

    assert snap_compare(gates_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_gate_overview(snap_compare, size):
    async def run_before(pilot):
        await traced(pilot)
        await pilot.press("right_square_bracket", "o")
        await pilot.pause()

    assert snap_compare(gates_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_sampling(snap_compare, size):
    assert snap_compare(sample_app(), terminal_size=size, run_before=sampled)


@pytest.mark.parametrize("size", SIZES)
def test_sampling_confidence_and_inspect(snap_compare, size):
    async def run_before(pilot):
        await sampled(pilot)
        await pilot.press("ctrl+t", *["ctrl+left"] * 3)
        await pilot.pause()

    assert snap_compare(sample_app(), terminal_size=size, run_before=run_before)


class HelpApp(RnnTuiBase):
    """Only a help screen, over a blank one: the picture does not depend on another screen's state."""

    TITLE = "HelpApp"  # the stored pictures' title (the app's, in the SVG's window bar)

    def __init__(self, topic: str) -> None:
        super().__init__()
        self.topic = topic

    def on_mount(self) -> None:
        self.push_screen(HelpScreen(self.topic))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("topic", sorted(TOPICS), ids=lambda topic: topic.replace(" ", "-"))
def test_help(snap_compare, topic, size):
    assert snap_compare(HelpApp(topic), terminal_size=size)

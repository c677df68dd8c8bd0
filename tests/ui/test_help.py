"""Each screen has its own help; ?, F1, Esc and q work the same in the training app and the viewer."""

import pytest
from textual.binding import Binding
from textual.widgets import HelpPanel

from rnn_tui.ui.app import RnnTuiApp
from rnn_tui.ui.screens.compare import CompareScreen
from rnn_tui.ui.screens.gates import GatesScreen
from rnn_tui.ui.screens.gradflow import GradFlowScreen
from rnn_tui.ui.screens.help import TOPICS, HelpScreen, key_rows, render_keys
from rnn_tui.ui.screens.home import HomeScreen, RunsTable
from rnn_tui.ui.screens.new_run import NewRunScreen
from rnn_tui.ui.screens.sample import SampleScreen
from rnn_tui.ui.screens.train import TrainScreen
from rnn_tui.ui.viewer import ViewerApp
from tests.ui.helpers import plain, screen_text, snapshot, wait_for

TEXT = "the quick brown fox jumps over the lazy dog\n" * 20
SCREENS = {
    "dashboard": TrainScreen,
    "gates": GatesScreen,
    "sampling": SampleScreen,
    "gradient flow": GradFlowScreen,
    "compare": CompareScreen,
    "home": HomeScreen,
    "new run": NewRunScreen,
}


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_every_binding_of_a_screen_is_in_its_help(topic):
    screen_class = SCREENS[topic]
    rows = key_rows(topic)
    covered = {action for actions, _keys, _what in TOPICS[topic].keys for action in actions}
    extra = RunsTable.BINDINGS if screen_class is HomeScreen else []  # the runs list's own Enter
    for binding in [*screen_class.BINDINGS, *extra]:
        if isinstance(binding, Binding) and binding.description:
            assert binding.action in covered, (topic, binding.action)
    assert len({what for _, what in rows}) == len(rows)  # no row twice


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_key_table_rows_do_not_wrap_at_80_columns(topic):
    # The help box is 80 wide at 80 columns: border 2, padding 2, scrollbar 2 leave 74.
    rows = key_rows(topic)
    lines = plain(render_keys(topic), width=74).rstrip("\n").split("\n")
    assert len(lines) == len(rows), topic
    for (keys, what), line in zip(rows, lines):
        assert line.startswith(keys) and line.rstrip().endswith(what)


def test_a_binding_no_row_covers_is_listed_from_its_description():
    class Extra(GatesScreen):
        BINDINGS = [*GatesScreen.BINDINGS, Binding("z", "zoom", "Zoom the text")]

    rows = key_rows("gates", Extra())
    assert ("z", "zoom the text") in rows


async def test_each_screen_of_the_training_app_opens_its_own_help():
    app = RnnTuiApp(viewer=snapshot("lstm", layers=1, hidden=16, text=TEXT))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen) and app.screen.topic == "dashboard"
        await pilot.press("escape")
        assert isinstance(app.screen, TrainScreen)
        await pilot.press("g")
        assert isinstance(app.screen, GatesScreen)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen) and app.screen.topic == "gates"
        assert "Help: the gate view" in "\n".join(screen_text(app))
        await pilot.press("escape")
        assert isinstance(app.screen, GatesScreen)
        await pilot.press("escape")
        await pilot.press("i")
        assert isinstance(app.screen, SampleScreen)
        await pilot.press("f1")  # the prime field has focus: ? would be typed, F1 opens help
        assert isinstance(app.screen, HelpScreen) and app.screen.topic == "sampling"
        await pilot.press("escape")
        assert isinstance(app.screen, SampleScreen)
        await pilot.press("escape", "f")
        assert isinstance(app.screen, GradFlowScreen)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen) and app.screen.topic == "gradient flow"


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_help_scrolls_when_it_is_taller_than_the_terminal(size):
    app = RnnTuiApp(viewer=snapshot("lstm", layers=1, hidden=16, text=TEXT))
    async with app.run_test(size=size) as pilot:
        await pilot.press("question_mark")
        box = app.screen.query_one("VerticalScroll")
        assert box.region.height <= size[1] and box.region.width <= size[0]
        if box.max_scroll_y:
            await pilot.press("end")
            await pilot.pause()
            assert box.scroll_y == box.max_scroll_y
            assert "--resume NAME" in "\n".join(screen_text(app))


async def test_viewer_help_and_quit_keys():
    app = ViewerApp((snapshot("lstm", layers=1, hidden=16, text=TEXT), None), "gates", validation_text=TEXT)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: getattr(app.screen, "trace", None) is not None)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen) and app.screen.topic == "gates"
        await pilot.press("escape")
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen) and app.screen.topic == "gates"
        await pilot.press("escape")
        assert isinstance(app.screen, GatesScreen)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0 and not app.is_running


async def test_escape_closes_the_keys_panel_before_anything_else():
    app = ViewerApp((snapshot("lstm", layers=1, hidden=16, text=TEXT), None), "gates", validation_text=TEXT)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: getattr(app.screen, "trace", None) is not None)
        app.action_show_help_panel()
        await pilot.pause()
        assert app.screen.query(HelpPanel)
        await pilot.press("escape")
        await pilot.pause()
        assert not app.screen.query(HelpPanel) and isinstance(app.screen, GatesScreen)
        await pilot.press("escape")  # now Esc is the screen's own: back (here: out of the viewer)
        await pilot.pause()
    assert not app.is_running


async def test_sampling_help_names_the_keys_that_work_where_focus_is(tmp_path):
    from rnn_tui.ui.widgets.sample_output import SampleOutput

    app = ViewerApp((snapshot("lstm", layers=1, hidden=16, text=TEXT), str(tmp_path / "run")), "sample")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        sampling = app.screen
        assert sampling.focused.id == "prime"
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        rows = key_rows("sampling", sampling)
        keys = [k for k, _ in rows]
        assert "F1" in keys and "ctrl+q" in keys and "? or F1" not in keys and "q" not in keys
        lines = plain(render_keys("sampling", sampling), width=74).rstrip("\n").split("\n")
        assert len(lines) == len(rows)  # no row wraps at 80 columns
        await pilot.press("question_mark")  # the help's own key closes it
        await pilot.press("shift+tab")  # from the prime back round to the output: q and ? are keys again
        assert isinstance(sampling.focused, SampleOutput)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = [k for k, _ in key_rows("sampling", sampling)]
        assert "? or F1" in keys and "q" in keys
        await pilot.press("escape")
        sampling.query_one("#prime").focus()
        await pilot.press("q")
        assert sampling.query_one("#prime").value == "q" and app.is_running
        await pilot.press("ctrl+q")  # what the help says quits from a field
        await pilot.pause()
    assert not app.is_running


async def test_full_collections_are_rare_once_the_app_is_up():
    """A full collection of a viewer's objects took 50-160 ms: a key press late by as much."""
    import gc

    from rnn_tui.ui.viewer import ViewerApp
    from tests.ui.helpers import snapshot

    before = gc.get_threshold()
    try:
        app = ViewerApp((snapshot(), None), "sample")
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert gc.get_threshold()[2] >= 100 * 10 and gc.get_threshold()[:2] == before[:2]
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()

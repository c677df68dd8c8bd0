from rnn_tui.ui.screens.gates import GatesScreen
from rnn_tui.ui.screens.sample import SampleScreen
from rnn_tui.ui.viewer import ViewerApp
from rnn_tui.ui.widgets.gate_text import GateText
from rnn_tui.ui.widgets.sample_output import SampleOutput
from tests.ui.helpers import plain, snapshot, wait_for

TEXT = 'He said "the quick (brown) fox" 한국어 🙂 [bold]x[/]\nthe end.'


async def test_gate_view_navigation_on_mixed_scripts(tmp_path):
    snap = snapshot("lstm", layers=2, hidden=16, text=TEXT)
    app = ViewerApp((snap, str(tmp_path)), "gates", validation_text=TEXT)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, GatesScreen)
        await wait_for(pilot, lambda: screen.trace is not None)

        def head() -> str:
            return str(screen.query_one("#gate-head").render())

        def detail() -> str:
            return str(screen.query_one("#gate-detail").render())

        assert "layer 1/2" in head() and "i: input gate" in head() and "unit 0/15" in head()
        await pilot.press("down", "down")
        assert screen.unit == 2 and "unit 2/15" in head()
        await pilot.press("right_square_bracket")
        assert screen.gate == "f" and "forget gate" in head()
        await pilot.press("l")
        assert screen.layer_index == 1 and "layer 2/2" in head()
        gate_text = screen.query_one(GateText)
        assert gate_text.chars == tuple(TEXT)
        expected = float(screen.trace.layers[1]["f"][0, 2])
        assert f"f={expected:+.2f}" in detail()
        for _ in range(TEXT.index("한")):
            await pilot.press("right")
        assert gate_text.cursor == TEXT.index("한") and "'한'" in detail() and "next:" in detail()
        drawn = gate_text.render().plain
        assert "[bold]x[/]" in drawn and "한국어" in drawn and "🙂" in drawn
        await pilot.press("shift+right", "shift+right")
        assert gate_text.span == (TEXT.index("한"), TEXT.index("한") + 3)
        assert "on across 3 chars" in detail()
        await pilot.press("o")
        assert screen.query_one("#overview").display
        overview = plain(screen._overview())
        assert "units that follow the text" in overview and "f saturation" in overview and screen.interesting
        await pilot.press("n")
        assert screen.unit == screen.interesting[0][0]
        await pilot.press("e")
        await pilot.press(*"the fox")
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.trace.chars == tuple("the fox"))
        await pilot.press("e")
        await pilot.press("end")
        await pilot.press(*"Ω")
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.error is not None)
        assert "U+03A9" in screen.error and screen.trace.chars == tuple("the fox")


async def test_gru_and_rnn_gates_listed(tmp_path):
    for cell, gates in (("gru", ("r", "z", "n", "h")), ("rnn", ("h",))):
        app = ViewerApp((snapshot(cell, layers=1, text=TEXT), None), "gates", validation_text=TEXT)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda app=app: app.screen.trace is not None)
            assert app.screen.trace.gates == gates


async def test_sample_screen_generate_stop_continue_save(tmp_path):
    snap = snapshot("lstm", layers=1, hidden=16, text=TEXT)
    app = ViewerApp((snap, str(tmp_path)), "sample", {"length": 400, "seed": 3})
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, SampleScreen) and app.focused.id == "prime"
        await pilot.press(*"the ")
        await pilot.press("enter")
        output = screen.query_one(SampleOutput)
        await wait_for(pilot, lambda: not screen.running)
        assert output.prime == "the " and len(output.tokens) == 400
        first = output.text
        # Same settings and seed: the same text.
        await pilot.press("enter")
        await wait_for(pilot, lambda: not screen.running and len(output.tokens) == 400)
        assert output.text == first
        # Stop mid-stream.
        screen.query_one("#length").value = "100000"
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(output.tokens) > 0)
        await pilot.press("escape")
        stopped_at = len(output.tokens)
        assert not screen.running and stopped_at < 100000
        await pilot.pause(0.2)
        assert len(output.tokens) <= stopped_at + 2000  # at most one in-flight batch lands
        # Continue from where it stopped.
        screen.query_one("#length").value = "50"
        before = output.text
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: not screen.running and len(output.text) > len(before))
        assert output.text.startswith(before)
        await pilot.press("ctrl+t")
        assert output.confidence
        await pilot.press("ctrl+left")
        assert "model's top 5" in str(screen.query_one("#sample-info").render())
        await pilot.press("ctrl+s")
        saved = list((tmp_path / "samples").glob("*.txt"))
        assert len(saved) == 1 and saved[0].read_text() == output.text
        settings = (tmp_path / "samples" / (saved[0].stem + ".json")).read_text()
        assert '"seed"' in settings and '"temperature"' in settings


async def test_prime_outside_vocabulary_is_marked(tmp_path):
    app = ViewerApp((snapshot("gru", layers=1, text=TEXT), str(tmp_path)), "sample", {"length": 20})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"Zebra", "enter")
        info = str(app.screen.query_one("#sample-info").render())
        assert "'Z' (U+005A)" in info and app.screen.query_one("#prime").has_class("-invalid")
        assert app.screen.query_one(SampleOutput).tokens == []

"""The sampling screen at 80x24 and 120x40: readable fields, a scrollable output, kept state."""

import pytest

from rnn_tui.core.sampling import Token
from rnn_tui.ui.app import RnnTuiApp
from rnn_tui.ui.screens.sample import SampleScreen
from rnn_tui.ui.viewer import ViewerApp
from rnn_tui.ui.widgets.sample_output import SampleOutput
from tests.ui.helpers import screen_text, snapshot, wait_for

TEXT = "ROMEO. the quick brown fox jumps over the lazy dog\nJULIET. and so on\n"


def tokens(n, start=0):
    words = "lorem ipsum dolor sit amet consectetur\n"
    top = ((" ", 0.4), ("e", 0.2), ("\n", 0.1), ("t", 0.1), ("a", 0.05))
    return [Token(words[(start + i) % len(words)], 0, ((start + i) % 10) / 10, top) for i in range(n)]


def viewer(tmp_path, **settings):
    return ViewerApp(
        (snapshot("lstm", layers=1, hidden=16, text=TEXT), str(tmp_path / "demo-run")),
        "sample",
        settings,
        validation_text=TEXT,
    )


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_output_follows_the_end_scrolls_back_and_keeps_the_inspected_char_in_view(tmp_path, size):
    app = viewer(tmp_path)
    async with app.run_test(size=size) as pilot:
        output = app.screen.query_one(SampleOutput)
        output.reset("ROMEO.")
        for k in range(20):  # batches as the worker posts them
            output.extend(tokens(75, 75 * k))
            await pilot.pause()
        assert output.max_scroll_y > 0
        assert output.scroll_y == output.max_scroll_y  # followed the end
        # Every row fits the width it is drawn in (a scrollbar appearing must not crop characters).
        from rnn_tui.ui.widgets.text_layout import cells

        width = output.scrollable_content_region.width
        bounds = list(zip(output.rows, output.rows[1:] + [len(output.chars)]))
        assert all(sum(cells(c) for c in output.chars[a:b] if c != "\n") <= width for a, b in bounds)
        await pilot.press("pageup")
        await pilot.pause()
        scrolled = output.scroll_y
        assert scrolled < output.max_scroll_y
        output.extend(tokens(200, 1500))
        await pilot.pause()
        assert output.scroll_y == scrolled  # scrolled back: stays put while text arrives
        await pilot.press("ctrl+home")
        await pilot.pause()
        assert output.scroll_y == 0
        await pilot.press("ctrl+end")
        await pilot.pause()
        assert output.scroll_y == output.max_scroll_y
        # Inspect a character far above the view: the view goes to it.
        output.cursor = 10
        await pilot.pause()
        row = next(r for r, start in enumerate(output.rows) if start > len(output.prime) + 10) - 1
        assert output.scroll_y <= row < output.scroll_y + output.scrollable_content_region.height
        await pilot.press("ctrl+right")
        await pilot.pause()
        assert output.cursor == 11
        assert output.render_line(row - int(output.scroll_y)).text.strip()  # the row with the cursor is drawn


async def test_output_scrolls_with_the_mouse_wheel(tmp_path):
    app = viewer(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        output = app.screen.query_one(SampleOutput)
        output.reset("")
        output.extend(tokens(3000))
        await pilot.pause()
        bottom = output.scroll_y
        from textual import events

        region = output.region
        output.post_message(events.MouseScrollUp(output, region.x + 2, region.y + 2, 0, 0, 0, False, False, False))
        await pilot.pause(0.2)
        assert output.scroll_y < bottom


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_fields_read_whole(tmp_path, size):
    app = viewer(tmp_path, temperature=0.8, length=500, seed=7)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        rows = "\n".join(screen_text(app)[:2])
        for label in ("prime", "temperature 0.8", "top-k off", "top-p off", "length 500", "seed 7", "greedy"):
            assert label in rows, (label, rows)
        for box in app.screen.query("Input"):
            assert box.region.right <= size[0] and box.size.width >= 3


async def test_whitespace_guesses_and_the_confidence_legend_are_visible(tmp_path):
    app = viewer(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        output = app.screen.query_one(SampleOutput)
        output.reset("the ")
        output.extend(tokens(50))
        await pilot.press("ctrl+left")
        info = str(app.screen.query_one("#sample-info").render())
        assert "\u2423 40%" in info and "\u21b5 10%" in info  # a space and a newline among the top 5
        await pilot.press("ctrl+t")
        assert output.confidence and "p(char) 0" in str(output.border_subtitle)


async def test_save_message_names_the_file_whole_at_80_columns(tmp_path):
    app = viewer(tmp_path, length=60, seed=1)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"the ", "enter")
        screen = app.screen
        await wait_for(pilot, lambda: not screen.running and screen.query_one(SampleOutput).tokens)
        await pilot.press("ctrl+s")
        saved = next((tmp_path / "demo-run" / "samples").glob("*.txt"))
        first, second = (row.strip() for row in screen_text(app)[-3:-1])
        assert first == f"saved samples/{saved.name} and .json (the settings)"
        assert second.startswith("in the run folder ") and second.endswith("demo-run")


async def test_prime_settings_and_output_are_kept_between_visits(tmp_path):
    app = RnnTuiApp(viewer=snapshot("lstm", layers=1, hidden=16, text=TEXT))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("i")
        first = app.screen
        assert isinstance(first, SampleScreen)
        first.query_one("#seed").value = "42"
        first.query_one("#length").value = "80"
        await pilot.press(*"the ", "enter")
        await wait_for(pilot, lambda: not first.running and first.query_one(SampleOutput).tokens)
        await pilot.press("ctrl+t")
        text = first.query_one(SampleOutput).text
        await pilot.press("escape")
        assert not isinstance(app.screen, SampleScreen)
        app.latest_snapshot = snapshot("lstm", layers=1, hidden=16, text=TEXT, step=20)  # training went on
        await pilot.press("i")
        again = app.screen
        assert isinstance(again, SampleScreen) and again is not first
        await pilot.pause()
        assert again.query_one("#prime").value == "the "
        assert again.query_one("#seed").value == "42" and again.query_one("#length").value == "80"
        output = again.query_one(SampleOutput)
        assert output.text == text and output.confidence
        assert "text from step 10 \u00b7 weights now step 20" in str(output.border_title)
        await pilot.press("ctrl+o")  # continuing works from the kept text
        await wait_for(pilot, lambda: not again.running and len(output.text) > len(text))
        assert output.text.startswith(text)


async def test_the_screen_says_which_run_and_step_it_samples(tmp_path):
    app = viewer(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "demo-run @ step 10" in "\n".join(screen_text(app))


async def test_continued_text_is_titled_and_saved_with_every_segment(tmp_path):
    import json

    from rnn_tui.core.config import SampleConfig
    from rnn_tui.core.corpus import Vocab
    from rnn_tui.core.model import build_from_weights
    from rnn_tui.core.sampling import sample_text

    app = viewer(tmp_path, length=40, seed=7)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        output = screen.query_one(SampleOutput)
        await pilot.press(*"the ", "enter")
        await wait_for(pilot, lambda: not screen.running and len(output.tokens) == 40)
        for step in (20, 30):  # training went on between the parts (same weights: the helper's fixed seed)
            app.latest_snapshot = snapshot("lstm", layers=1, hidden=16, text=TEXT, step=step)
            await pilot.press("ctrl+o")
            await wait_for(pilot, lambda n=step: not screen.running and len(output.tokens) == 40 * (n // 10))
        assert "demo-run \u00b7 120 chars in 3 parts from steps 10\u201330" in str(output.border_title)
        await pilot.press("ctrl+s")
        saved = next((tmp_path / "demo-run" / "samples").glob("*.txt"))
        settings = json.loads(saved.with_suffix(".json").read_text(encoding="utf-8"))
    parts = settings["segments"]
    assert [p["step"] for p in parts] == [10, 20, 30]
    assert [p["seed"] for p in parts] == [7, 47, 87] and [p["length"] for p in parts] == [40, 40, 40]
    assert parts[0]["prime"] == "the " and all("prime" not in p for p in parts[1:])
    # The settings make the saved text again: each part primed with all the text before it.
    weights = snapshot("lstm", layers=1, hidden=16, text=TEXT)
    model = build_from_weights(weights.config, weights.vocab, weights.weights)
    text = parts[0]["prime"]
    for part in parts:
        config = {k: part[k] for k in ("seed", "temperature", "top_k", "top_p", "greedy", "length")}
        text += sample_text(model, Vocab(weights.vocab), SampleConfig(prime=text, **config))
    assert text == saved.read_text(encoding="utf-8")


async def test_a_part_stopped_early_is_saved_with_the_characters_it_made(tmp_path):
    app = viewer(tmp_path, length=40, seed=7)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        output = screen.query_one(SampleOutput)
        await pilot.press(*"the ", "enter")
        await wait_for(pilot, lambda: not screen.running and output.tokens)
        screen._generate = lambda *args: None  # the worker's batches are posted by hand below
        await pilot.press("ctrl+o")
        screen.post_message(SampleScreen.Tokens(screen.run_id, tokens(5), True))  # stopped after 5 characters
        await pilot.pause()
        await pilot.press("ctrl+o", "ctrl+o")  # the first of these stopped before its first character
        assert [(p["seed"], p["length"]) for p in screen.segments] == [(7, 40), (47, 5), (52, 0)]
        assert "45 chars in 3 parts from step 10" in str(output.border_title)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_greedy_reads_off_and_on_without_colour(tmp_path, size):
    app = viewer(tmp_path)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        assert "\u2590 \u258c greedy off" in screen_text(app)[1]  # an empty box, and the word
        app.screen.query_one("#greedy").focus()
        await pilot.press("space")
        await pilot.pause()
        assert "\u2590X\u258c greedy on" in screen_text(app)[1]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_hints_break_between_phrases_only(tmp_path, size):
    from rnn_tui.ui.screens.sample import HINT

    app = viewer(tmp_path, length=40, seed=7)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        info = app.screen.query_one("#sample-info")
        lines = str(info.render()).split("\n")
        assert len(lines) <= info.content_region.height and all(len(line) <= size[0] - 2 for line in lines)
        assert sorted(p.strip() for line in lines for p in line.split("\u00b7")) == sorted(HINT)
        assert "ctrl+q quits" in "\n".join(screen_text(app))


async def test_title_and_save_message_keep_what_matters_when_narrowed(tmp_path):
    app = ViewerApp(
        (
            snapshot("lstm", layers=1, hidden=16, text=TEXT),
            str(tmp_path / "shakespeare_tragedies-lstm-20261127-050549"),
        ),
        "sample",
        {"length": 20, "seed": 7},
        validation_text=TEXT,
    )
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        output = screen.query_one(SampleOutput)
        await pilot.press(*"the ", "enter")
        await wait_for(pilot, lambda: not screen.running and len(output.tokens) == 20)
        app.latest_snapshot = snapshot("lstm", layers=1, hidden=16, text=TEXT, step=20)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: not screen.running and len(output.tokens) == 40)
        app.latest_snapshot = snapshot("lstm", layers=1, hidden=16, text=TEXT, step=30)
        screen.snapshot_arrived(app.latest_snapshot)  # as the training app tells its screens
        await pilot.press("ctrl+s")
        await pilot.pause()
        title = "40 chars in 2 parts from steps 10\u201320 \u00b7 weights now step 30"
        assert screen_text(app)[2].startswith(
            f"\u256d\u2500 shakespeare_tragedies-lstm-20261127-050549 \u00b7 {title} "
        )
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.pause()
        assert screen_text(app)[2].startswith(f"\u256d\u2500 {title} \u2500")  # the steps, whole; the name gives way
        assert screen_text(app)[-2].rstrip().endswith("shakespeare_tragedies-lstm-20261127-050549")


@pytest.mark.parametrize("key", ["escape", "ctrl+q"])  # q types into the prime here
async def test_leaving_the_viewer_asks_before_it_loses_generated_text(tmp_path, key):
    """Esc (its footer says Back) and ctrl+q once closed `rnn-tui sample RUN` with the text unsaved."""
    from rnn_tui.ui.screens.confirm import ConfirmScreen

    app = viewer(tmp_path, length=60, seed=1)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"the ", "enter")
        screen = app.screen
        await wait_for(pilot, lambda: not screen.running and screen.query_one(SampleOutput).tokens)
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and app.is_running
        await pilot.press("n")  # stay
        await pilot.pause()
        assert app.screen is screen and app.is_running
        await pilot.press("ctrl+s")  # saved: nothing left to lose, so leaving asks nothing
        await pilot.press(key)
        await pilot.pause()
        assert not app.is_running and app.return_code == 0


async def test_leaving_the_viewer_with_nothing_generated_asks_nothing(tmp_path):
    app = viewer(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("escape")
        await pilot.pause()
        assert not app.is_running

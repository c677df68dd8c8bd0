"""The gate view at 80x24 and 120x40: a full pane, lines that fit, whole footer entries."""

import pytest
from textual.widgets._footer import FooterKey

from rnn_tui.ui.screens.gates import GatesScreen
from rnn_tui.ui.viewer import ViewerApp
from rnn_tui.ui.widgets.gate_text import GateText
from rnn_tui.ui.widgets.key_bar import KEEP, KeyBar
from tests.ui.helpers import screen_text, snapshot, wait_for

# Short lines, as in a play: a fixed number of characters would leave rows empty.
PLAY = "".join(f"LINE {k}.\nA short line of verse, number {k}.\n\n" for k in range(400))
# Long paragraphs: the pane holds more characters than any fixed amount traced.
PROSE = "".join(f"Paragraph {k} runs on and on without a break, " * 40 + "\n\n" for k in range(20))
# Validation text is cut from the corpus anywhere in a line: the view starts at its first whole line.
PLAY_SHOWN = PLAY.split("\n", 1)[1]


async def open_gates(app, pilot):
    screen = app.screen
    assert isinstance(screen, GatesScreen)
    await wait_for(pilot, lambda: screen.trace is not None)
    await pilot.pause()
    return screen


def viewer(text=PLAY, cell="lstm"):
    return ViewerApp((snapshot(cell, layers=2, hidden=16, text=text), None), "gates", validation_text=text)


def drawn_rows(gate_text: GateText) -> list[str]:
    return gate_text.render().plain.split("\n")


@pytest.mark.parametrize("text", [PLAY, PROSE], ids=["play", "prose"])
@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_text_fills_the_pane(size, text):
    app = viewer(text)
    async with app.run_test(size=size) as pilot:
        screen = await open_gates(app, pilot)
        gate_text = screen.query_one(GateText)
        rows = drawn_rows(gate_text)
        assert len(rows) == gate_text.size.height and all(row for row in rows)
        await pilot.press("end")  # at the end too: the view stops scrolling where the pane is still full
        rows = drawn_rows(gate_text)
        assert len(rows) == gate_text.size.height and all(row for row in rows)


async def test_a_bigger_terminal_traces_more_text():
    app = viewer(PROSE)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_gates(app, pilot)
        before = len(screen.trace.chars)
        await pilot.resize_terminal(200, 60)
        gate_text = screen.query_one(GateText)
        await wait_for(pilot, lambda: len(screen.trace.chars) > before)
        await pilot.pause()
        rows = drawn_rows(gate_text)
        assert len(rows) == gate_text.size.height and all(rows)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_detail_rows_fit_and_show_whitespace(size):
    app = viewer()
    async with app.run_test(size=size) as pilot:
        screen = await open_gates(app, pilot)
        for _ in range(40):
            await pilot.press("shift+right")
        detail = screen.query_one("#gate-detail")
        lines = detail.render().plain.split("\n") if hasattr(detail.render(), "plain") else []
        width = detail.size.width
        assert any(line.startswith("on across 41 chars") for line in lines)
        for line in lines:
            assert len(line) <= width and not line.endswith("\u2026"), line
        span_line = next(line for line in lines if line.startswith("on across"))
        assert span_line.count("(min") == span_line.count(")")  # only whole entries
        # The model's guesses after "A": a space among them is drawn as a visible mark.
        position = PLAY_SHOWN.index(" ")  # the cursor on the space of "A short line"
        screen.query_one(GateText).selection_anchor = None
        screen.query_one(GateText).cursor = position - 1
        await pilot.press("right")
        guesses = [ch for ch, _ in screen.trace.top[position]]
        text = "\n".join(screen_text(app))
        assert f"'\u2423' @ {position}" in text
        if " " in guesses:
            assert "\u2423 " in text.split("next:")[1].split("\n")[0]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_overview_lines_are_whole(size):
    app = viewer()
    async with app.run_test(size=size) as pilot:
        screen = await open_gates(app, pilot)
        await pilot.press("o")
        await pilot.pause()
        panel = screen.query_one("#overview")
        text = "\n".join(screen_text(app))
        for phrase in (
            "i saturation, 16 units",
            "units by share of chars",
            "mostly < 0.1:",
            "mostly > 0.9:",
            "units that follow the text",
            "n: next of these",
        ):
            assert phrase in text, phrase
        assert "\u2026" not in text
        assert panel.region.right <= size[0]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_footer_shows_whole_entries_with_back_and_help(size):
    app = viewer()
    async with app.run_test(size=size) as pilot:
        await open_gates(app, pilot)
        bar = app.screen.query_one(KeyBar)
        keys = list(bar.query(FooterKey))
        assert keys and all(key.region.right <= size[0] for key in keys)
        shown = {key.description for key in keys}
        assert {"Back", "Unit", "Gate", "Help"} <= shown
        footer_row = screen_text(app)[-1]
        for key in keys:
            assert key.description in footer_row


async def test_key_bar_drops_whole_entries_and_keeps_help():
    app = viewer()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_gates(app, pilot)
        bar = app.screen.query_one(KeyBar)
        entries = bar.entries()
        for width in (20, 35, 50, 200):
            chosen = bar.fitting(width)
            used = sum(bar.entry_width(app.get_key_display(b), b.description) for b, _, _ in chosen)
            assert used <= width and [b.action for b, _, _ in chosen[-2:]] == ["request_quit", "help"]
            kept = [e for e in entries if e in chosen and e[0].action not in KEEP]
            assert kept == [e for e in entries if e[0].action not in KEEP][: len(kept)]  # most important first
        assert len(bar.fitting(200)) == len(entries)


async def test_a_click_puts_the_cursor_on_a_character():
    app = viewer()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_gates(app, pilot)
        gate_text = screen.query_one(GateText)
        region = gate_text.content_region
        await pilot.click(GateText, offset=(region.x - gate_text.region.x + 3, region.y - gate_text.region.y + 2))
        assert gate_text.cursor == PLAY_SHOWN.index("LINE 1.") + 3  # row 2 (row 1 is blank), column 3
        assert f"@ {gate_text.cursor}:" in str(screen.query_one("#gate-detail").render())


@pytest.mark.parametrize("hidden", [16, 64])
@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_overview_fills_its_pane(size, hidden):
    app = ViewerApp((snapshot("lstm", layers=1, hidden=hidden, text=PLAY), None), "gates", validation_text=PLAY)
    async with app.run_test(size=size) as pilot:
        screen = await open_gates(app, pilot)
        await pilot.press("o")
        await pilot.pause()
        panel = screen.query_one("#overview")
        region = panel.content_region
        rows = [row[region.x : region.right].rstrip() for row in screen_text(app)[region.y : region.bottom]]
        assert panel.region.bottom == screen.query_one(GateText).region.bottom  # as tall as the text pane
        assert rows[-2]  # at most one row left empty at the bottom
        assert "n: next of these" in rows
        assert len(screen.interesting) == min(hidden, 8 if size == (80, 24) else 17)
        if size == (120, 40):
            assert "mostly saturated, layer 1" in rows  # every gate of the layer, the selected one marked
            assert sum(row.startswith(("\u25b6i ", " f ", " g ", " o ", " c ", " h ")) for row in rows) == 6


def test_unit_counts_agree_in_number():
    from rnn_tui.ui.screens.gates import units

    assert (units(0), units(1), units(2)) == ("0 units", "1 unit", "2 units")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("s injury\nThe gaoler to his pity.\nAnd more.\n", "The gaoler to his pity.\nAnd more.\n"),
        ("jury and the gaoler " * 30, "and the gaoler " + "jury and the gaoler " * 29),  # no line end near
        ("\nA whole line.\n", "A whole line.\n"),  # cut just after a line end: nothing lost
    ],
    ids=["cut-line", "no-line-end-near", "after-a-line-end"],
)
async def test_validation_text_starts_at_a_whole_line_or_word(text, shown):
    from rnn_tui.ui.screens.gates import from_a_whole_line

    assert from_a_whole_line(text) == shown
    app = viewer(text * 200)  # more than the pane shows (a short text is shown whole)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_gates(app, pilot)
        assert "".join(screen.trace.chars).startswith(shown[:12])
        assert screen_text(app)[2][2:].startswith(shown[:12].split("\n")[0])


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_a_refused_typed_text_leaves_the_pane_and_its_title_in_agreement(size):
    """A typed text with a character the model never saw: the title once said "typed text" over the old
    text, and the refusal (cut at 80 columns) spoke of a "prime"."""
    app = viewer()
    async with app.run_test(size=size) as pilot:
        screen = await open_gates(app, pilot)
        before = screen.trace
        await pilot.press("e", *"hi [=]", "enter")
        await wait_for(pilot, lambda: screen.error is not None)
        await pilot.pause()
        assert screen.trace is before and screen.source == "validation"
        assert screen.query_one(GateText).border_title.startswith("validation text")
        text = " ".join(line.strip() for line in screen_text(app))
        assert "the typed text has characters the model never saw: '[' (U+005B), '=' (U+003D)" in text
        assert "prime" not in text and "remove or replace them" in text
        await pilot.press("e", *"\b\b\b\b\b\bhi", "enter")  # fixed: traced, the refusal gone
        await wait_for(pilot, lambda: screen.traced_source == "typed")
        assert screen.error is None and "".join(screen.trace.chars) == "hi"


def test_a_value_that_rounds_to_zero_has_no_minus_sign():
    from rnn_tui.ui.screens.gates import signed

    assert [signed(v) for v in (-0.004, 0.0, -0.006, 0.5)] == ["+0.00", "+0.00", "-0.01", "+0.50"]


async def test_a_snapshot_a_few_steps_on_is_traced_at_once_only_after_a_step_asked_here():
    """Slow training sends snapshots a few steps apart: each was traced twice per refresh, for nothing."""
    app = viewer()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_gates(app, pilot)
        traced = []
        screen.retrace = lambda background=False: traced.append(background)
        newer = snapshot("lstm", layers=2, hidden=16, text=PLAY, step=screen.traced_step + 3)
        screen.snapshot_arrived(newer)
        assert traced == []  # training goes on: the refresh timer retraces it
        screen._stepped = True  # '.' was pressed here (a saved run cannot step, so it is set as the key does)
        screen.snapshot_arrived(newer)
        assert traced == [False]  # awaited: traced at the screen's priority
        screen.snapshot_arrived(newer)
        assert traced == [False]  # once
        screen._refresh_if_training()  # the refresh timer: a trace nobody waits for, below the training
        screen.snapshot_arrived(newer)
        assert traced == [False, True]

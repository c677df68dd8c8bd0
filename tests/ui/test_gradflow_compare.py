import pytest

from rnn_tui.core.compare import matched_hidden_size, parameter_count, parse_cells
from rnn_tui.core.model import CharRNN, count_parameters
from rnn_tui.ui.app import RnnTuiApp
from rnn_tui.ui.bridge import TrainerBridge
from rnn_tui.ui.screens.compare import CompareScreen
from rnn_tui.ui.screens.gradflow import GradFlowScreen
from rnn_tui.ui.viewer import ViewerApp
from rnn_tui.ui.widgets.compare_chart import CompareChart
from rnn_tui.ui.widgets.gradflow_plot import GradFlowPlot
from tests.conftest import tiny_config
from tests.ui.helpers import plain, screen_text, snapshot, wait_for


def test_parameter_count_formula_and_matching():
    for cell in ("rnn", "lstm", "gru"):
        model = CharRNN(65, cell, 16, 48, 2)
        assert parameter_count(cell, 65, 16, 48, 2) == count_parameters(model)
    target = parameter_count("lstm", 65, 16, 128, 2)
    hidden = matched_hidden_size("rnn", target, 65, 16, 2)
    assert hidden > 200 and abs(parameter_count("rnn", 65, 16, hidden, 2) - target) / target < 0.02
    assert parse_cells("rnn, LSTM,gru") == ["rnn", "lstm", "gru"]


async def test_gradflow_screen_plots_now_and_initial(tmp_path):
    text = "the quick brown fox jumps over the lazy dog. " * 5
    snap = snapshot("rnn", layers=2, hidden=16, text=text)
    app = ViewerApp((snap, None), "gates", validation_text=text)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.trace is not None)
        app.push_screen(GradFlowScreen())
        await pilot.pause()
        plot = app.screen.query_one(GradFlowPlot)
        await wait_for(pilot, lambda: plot.flow is not None)
        assert len(plot.flow.layers) == 2 and plot.flow.initial is not None and len(plot.flow.distance) == 100
        drawn = plot.render().plain
        assert "distance T-t" in drawn and "log scale" in plot.border_title
        head = str(app.screen.query_one("#gf-head").render())
        assert "RNN" in head and "T-t = 50" in head


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_gradflow_head_never_breaks_inside_its_brackets(size):
    """At 80 columns the head used to wrap as '... (at' / 'init 1.5e-10)'."""
    from tests.ui.test_snapshots_dashboard import fixed_flow

    app = RnnTuiApp()
    async with app.run_test(size=size) as pilot:
        await app.push_screen(GradFlowScreen(fixed_flow(), 1_234_567))
        await pilot.pause()
        rows = [row.strip() for row in screen_text(app)[:3]]
        head = rows[: rows.index(next(r for r in rows if r.startswith("\u256d")))]  # down to the plot's border
        assert all(row.count("(") == row.count(")") for row in head), head
        assert "T-t = 50" in head[0] and any("(at init" in row for row in head)
        assert len(head) == (1 if size[0] >= 120 else 2), head
        await pilot.resize_terminal(60 if size[0] >= 120 else 120, 24)
        await pilot.pause()
        rows = [row.strip() for row in screen_text(app)[:4]]
        assert all(row.count("(") == row.count(")") for row in rows), rows


def test_gradflow_words_distance_the_same_everywhere():
    """The plot, the caption under it and the help all call the distance T-t."""
    from rnn_tui.ui.screens.gradflow import EXPLAIN
    from rnn_tui.ui.screens.help import TOPICS

    help_text = " ".join(TOPICS["gradient flow"].notes)
    assert "T-t steps earlier" in EXPLAIN and "T-t steps earlier" in help_text
    assert " t steps" not in help_text and "distance T-t" in GradFlowPlot().border_title


async def test_compare_mode_trains_three_saved_runs_and_shows_chart_and_table(small_corpus, runs_home):
    from rnn_tui.core.orchestrate import RunRequest

    overrides = tiny_config(max_steps=30, eval_every=10, sample_every=0).to_dict()
    request = RunRequest(corpus=str(small_corpus), overrides=overrides, name="cmp", compare=("rnn", "lstm", "gru"))
    app = RnnTuiApp(bridge_factory=lambda a: TrainerBridge(a, request, report_interval=0.1), compare=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.query(CompareChart))
        rows = app.compare.rows
        assert [r.cell for r in rows] == ["rnn", "lstm", "gru"]
        assert all(
            r.curve and r.best_val_loss is not None and r.decay_50 is not None and r.chars_per_sec > 0 for r in rows
        )
        table = plain(app.screen.table())
        for needle in ("cell", "params", "chars/s", "best val", "grad @50", "rnn", "lstm", "gru"):
            assert needle in table
        drawn = app.screen.query_one(CompareChart).render().plain
        assert "rnn" in drawn and "lstm" in drawn and "gru" in drawn
    for cell in ("rnn", "lstm", "gru"):
        assert (runs_home / "runs" / f"cmp-{cell}" / "latest.pt").is_file()


async def test_compare_screen_marks_each_cell_and_explains_grad_50():
    from rnn_tui.ui.app import RnnTuiApp
    from rnn_tui.ui.screens.compare import GRAD_CAPTION
    from rnn_tui.ui.widgets.compare_chart import CELL_MARKERS
    from tests.ui.test_snapshots_dashboard import compare_rows

    app = RnnTuiApp(compare=True)
    async with app.run_test(size=(80, 24)) as pilot:
        app.compare.rows.extend(compare_rows())
        await app.push_screen(CompareScreen())
        await pilot.pause()
        chart = app.screen.query_one(CompareChart)
        drawn = chart.render().plain
        assert len(set(CELL_MARKERS.values())) == 3
        for cell, marker in CELL_MARKERS.items():
            assert drawn.count(marker) >= 3, (cell, drawn)  # its validation points plus the legend entry
            assert f"{cell} {marker}" in drawn
        assert all(len(line) <= chart.content_size.width for line in drawn.splitlines())
        caption = str(app.screen.query_one("#cmp-caption").render())
        assert (
            caption.replace("\n", " ").startswith("grad @50: gradient norm 50 steps back")
            and "grad @50" in GRAD_CAPTION
        )

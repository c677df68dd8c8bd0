"""Help for each screen: a table of key | what it does, then what the screen shows.

The help opened over a screen is that screen's own (looked up by its class).
Rows are written by hand for their wording; any binding of the screen that no
row covers is added from its own description, so help never misses a key.
Both apps (training and `rnn-tui gates|sample RUN`) bind HELP_BINDINGS in their
shared base (ui/base.py), so ``?``, F1 and Esc behave the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

HELP_BINDINGS = [
    Binding("question_mark", "help", "Help"),
    # Shown only where ? is typed into a field (KeyBar shows one entry per action, the first found).
    Binding("f1", "help", "Help", key_display="F1"),
    # Esc first closes the Keys panel (palette > Keys) when it is open; otherwise it goes on to the screen.
    Binding("escape", "hide_keys", "Close the keys panel", show=False, priority=True),
]


@dataclass(frozen=True)
class Topic:
    title: str
    keys: tuple[tuple[tuple[str, ...], str, str], ...]  # (actions covered, keys as shown, what they do)
    notes: tuple[str, ...] = field(default=())


COMMON = (
    (("help",), "? or F1", "this help; Esc closes it"),
    (("command_palette",), "ctrl+p", "command palette: every action by name"),
    (("request_quit", "quit"), "q", "quit (while training: stop it, saved, or leave it running)"),
)
# The same keys where focus is in a text field, which takes q and ? as text: what works from there.
COMMON_IN_A_FIELD = (
    (("help",), "F1", "this help; Esc closes it (? is typed in a field)"),
    (("command_palette",), "ctrl+p", "command palette: every action by name"),
    (("request_quit", "quit"), "ctrl+q", "quit, as q does elsewhere (q is typed in a field)"),
)

TOPICS = {
    "dashboard": Topic(
        "Help: the training dashboard",
        (
            (("pause", "resume", "toggle_pause"), "space", "pause / resume training"),
            (("step",), ".", "while paused: one step (chart, sample, gate view follow)"),
            (("lr(2.0)", "lr(0.5)"), "+ / -", "learning rate \u00d72 / \u00f72 from the next step (\u25c6 on chart)"),
            (("reset",), "R", "reset: same settings, fresh start, new seed (old curve faint)"),
            (("new_run",), "n", "new run: pick the text, cell and size"),
            (("home",), "h", "home: the saved runs (this one keeps training)"),
            (("save",), "s", "save a checkpoint now"),
            (("app.gates",), "g", "gate view: characters coloured by a gate"),
            (("app.sample",), "i", "interactive sampling from the current weights"),
            (("app.gradflow",), "f", "gradient flow: how far back the gradient reaches"),
            (("app.compare",), "c", "comparison chart and table (--compare)"),
            (("temperature(1)", "temperature(-1)"), "t / T", "live-sample temperature up / down"),
            (("toggle_raw",), "r", "show or hide the raw (unsmoothed) loss curve"),
            (("toggle_bits",), "b", "loss in bits or nats per character"),
        ),
        (
            (
                "The chart: training loss per step (smoothed line, raw curve faint) and validation loss "
                "(dots), in nats per character (ln 2 = 0.69 nats = 1 bit). A model that knows nothing "
                "scores ln(vocabulary size)."
            ),
            (
                "Training uses truncated backpropagation through time: the text is cut into parallel "
                "streams, each step reads the next chunk of every stream, and the hidden state is carried "
                "from chunk to chunk. The sample is drawn by feeding each predicted character back in."
            ),
            "Runs are saved in the run folder shown at start; `rnn-tui --resume NAME` continues one.",
        ),
    ),
    "home": Topic(
        "Help: home",
        (
            (("select_cursor", "open"), "enter", "open: its dashboard, training on (a live run: watch it)"),
            (("new",), "n", "new run: text, cell, size and budget, with what they cost"),
            (("view('sample')",), "i", "sample from the run's saved weights"),
            (("view('gates')",), "g", "gate view of the run"),
            (("view('gradflow')",), "f", "gradient flow of the run"),
            (("mark",), "space", "mark a run for comparison"),
            (("compare",), "c", "compare the marked runs: overlaid curves and a table"),
            (("sort",), "o", "sort by: last trained, name, best val, steps"),
            (("rename",), "F2", "rename the run"),
            (("delete",), "d / del", "delete the run (asks first)"),
            (("refresh",), "ctrl+r", "read the runs folder again"),
            (("back",), "esc", "back to the run this app trains (while one trains)"),
        ),
        (
            "Every run saved under the runs folder, newest first; the chart is the selected run's loss. "
            "A run marked live is training now, in this app or in the background (rnn-tui attach).",
            "No runs yet? Enter trains an LSTM on the bundled Shakespeare, as `rnn-tui CORPUS` does.",
        ),
    ),
    "new run": Topic(
        "Help: a new run",
        (
            (("start",), "ctrl+s", "start training (the dashboard opens)"),
            (("pick_file",), "ctrl+o", "pick a text file from a folder tree"),
            (("copy_command",), "ctrl+y", "copy the equivalent rnn-tui command line"),
            (("cancel",), "esc", "back without starting"),
            (("focus_next",), "tab", "next field"),
        ),
        (
            "Demos: tragedies (the default), sonnets (small: words within a minute), hello (four letters, "
            "an 8-unit RNN: every unit fits the gate view) and python (code from this Python's standard "
            "library: watch indentation and brackets being learned).",
            "Each field is checked as you type, by the command line's rules; the panel on the right shows the "
            "parameter count, the memory it takes and, once a run of the same shape has trained here, its speed.",
        ),
    ),
    "gates": Topic(
        "Help: the gate view",
        (
            (("unit(1)", "unit(-1)"), "\u2193 / \u2191", "next / previous unit"),
            (("gate(1)", "gate(-1)"), "] / [", "next / previous gate"),
            (("layer(1)", "layer(-1)"), "l / L", "next / previous layer"),
            (("move(1)", "move(-1)"), "\u2192 / \u2190", "move the cursor (a click works too)"),
            (("select(1)", "select(-1)"), "shift+\u2192 / \u2190", "select a span: units on across it"),
            (("jump(0)", "jump(-1)"), "home / end", "first / last character"),
            (("source",), "v", "text: validation, live sample, typed"),
            (("edit",), "e", "type text to trace (Enter traces it)"),
            (("overview",), "o", "overview: saturation, units that follow"),
            (("interesting",), "n", "next interesting unit"),
            (("retrace",), "r", "trace again with the newest weights"),
            (("step",), ".", "one training step (training paused): the colours follow"),
            (("back",), "esc", "back (or cancel typing)"),
        ),
        (
            (
                "Each character is coloured by the value of one unit of one gate after reading it; the "
                "legend on the box shows the scale. Gates i, f, o (LSTM) and r, z (GRU) run from 0 to 1; "
                "the hidden state h, the candidate g or n and tanh(c) run from -1 (blue) to +1 (orange)."
            ),
            (
                "GRU: the lessons write h = (1\u2212z)\u00b7h_prev + z\u00b7h\u0303, where z is how much of the new "
                "candidate is taken. torch (and this view) write h = (1\u2212z)\u00b7n + z\u00b7h_prev: here z is how "
                "much of the OLD state is kept, so z near 1 means the unit remembers."
            ),
            (
                "Below the text: the gates at the cursor, the model's five likeliest next characters "
                "(\u2423 is a space, \u21b5 a new line), and for a selected span the units that stay "
                "on across all of it."
            ),
            (
                "The overview counts, for each unit, how often it is saturated (below 0.1 or above 0.9), "
                "and lists units whose value follows a simple feature of the text (quotes, brackets, "
                "position in the line)."
            ),
        ),
    ),
    "sampling": Topic(
        "Help: interactive sampling",
        (
            (("generate",), "enter ctrl+g", "generate from the prime"),
            (("stop_or_back",), "esc", "stop generating; again: back"),
            (("continue",), "ctrl+o", "continue from the end of the text"),
            (("reseed",), "ctrl+r", "next seed, and generate"),
            (("save",), "ctrl+s", "save the text and its settings"),
            (("confidence",), "ctrl+t", "colour characters by the model's confidence"),
            (("cursor(-1)", "cursor(1)"), "ctrl+\u2190 / \u2192", "inspect a character and the top 5"),
            (("page(-1)", "page(1)"), "pgup pgdn", "scroll the output (the mouse wheel too)"),
            (("edge(0)", "edge(1)"), "ctrl+home/end", "start / end of the output"),
            (("focus_next",), "tab", "next field (the output: arrows scroll)"),
        ),
        (
            (
                "The prime is fed in first; the model then writes one character at a time, each drawn "
                "from its predicted distribution. Temperature below 1 makes safer choices, above 1 "
                "wilder ones, 0 always the likeliest (greedy). top-k keeps only the k likeliest "
                "characters, top-p the smallest set holding that much probability. The same seed and "
                "settings give the same text."
            ),
            (
                "With ctrl+t each character's background shows the probability the model gave it "
                "(legend under the text): dark is a surprise, light a sure thing."
            ),
            (
                "Saved samples go to the run folder's samples/ with a .json of the settings: one entry per "
                "part (ctrl+o adds one), with its weights step and seed, so the text can be made again. "
                "The prime, settings and text stay here until you leave the app."
            ),
            (
                "The fields take every key typed, q and ? included: there F1 opens this help and ctrl+q "
                "quits. shift+tab moves to the output, where q and ? work as on every screen."
            ),
        ),
    ),
    "gradient flow": Topic(
        "Help: gradient flow",
        (
            (("remeasure",), "r", "measure again with the newest weights"),
            (("back",), "esc", "back"),
        ),
        (
            (
                "||dL_T/dh_t||: how much the loss at the last character still depends on the hidden state "
                "T-t steps earlier, on a log scale. Bright lines: now, one per layer; grey: at "
                "initialisation."
            ),
            (
                "A plain RNN's curve falls off a cliff (the gradient vanishes through the repeated tanh); "
                "an LSTM's or GRU's stays up far longer because its cell or state update is additive."
            ),
        ),
    ),
    "compare": Topic(
        "Help: comparing cells",
        ((("back",), "esc", "back"),),
        (
            (
                "With --compare rnn,lstm,gru the same corpus and budget train each cell in turn. The chart "
                "overlays their smoothed training loss (lines) and validation loss (dots)."
            ),
            (
                "grad @50 is the gradient-flow measure 50 characters back: larger means the cell still "
                "learns from that far away."
            ),
        ),
    ),
}

SCREEN_TOPICS = {
    "TrainScreen": "dashboard",
    "GatesScreen": "gates",
    "HomeScreen": "home",
    "NewRunScreen": "new run",
    "RunsCompareScreen": "compare",
    "SampleScreen": "sampling",
    "GradFlowScreen": "gradient flow",
    "CompareScreen": "compare",
}


def topic_for(screen: Screen | None) -> str:
    for cls in type(screen).__mro__:
        if cls.__name__ in SCREEN_TOPICS:
            return SCREEN_TOPICS[cls.__name__]
    return getattr(screen, "HELP_TOPIC", "dashboard")


def key_rows(topic: str, screen: Screen | None = None) -> list[tuple[str, str]]:
    """The rows of the key table: the topic's own, any binding of ``screen`` they miss, then the common keys
    (those that work from a text field when ``screen``'s focus is in one)."""
    own = TOPICS[topic].keys
    rows = [(keys, what) for _actions, keys, what in own]
    covered = {action for actions, _k, _w in own + COMMON for action in actions}
    if screen is not None and topic_for(screen) == topic:
        for binding in _bindings_of(screen):
            if binding.action not in covered and binding.description:
                covered.add(binding.action)
                rows.append(
                    (
                        screen.app.get_key_display(binding) if screen.is_attached else binding.key,
                        binding.description.lower(),
                    )
                )
    common = COMMON_IN_A_FIELD if screen is not None and typing_in_a_field(screen) else COMMON
    rows += [(keys, what) for _actions, keys, what in common]
    return rows


def typing_in_a_field(screen: Screen) -> bool:
    """Whether the focused widget of ``screen`` takes q and ? as text (an Input does)."""
    focused = screen.focused if screen.is_attached else None
    return (
        focused is not None and focused.check_consume_key("q", "q") and focused.check_consume_key("question_mark", "?")
    )


def _bindings_of(screen: Screen) -> list[Binding]:
    """The screen's own bindings (Textual's Screen ones, focus and copy, are everywhere and not news)."""
    inherited = {id(b) for b in Screen.BINDINGS}
    return [b for b in getattr(type(screen), "BINDINGS", []) if isinstance(b, Binding) and id(b) not in inherited]


def render_keys(topic: str, screen: Screen | None = None) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True, style="bold")
    table.add_column()
    for keys, what in key_rows(topic, screen):
        table.add_row(Text(keys), Text(what))
    return table


class HelpScreen(ModalScreen):
    """The help of the screen it opens over (or of ``topic``)."""

    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 84; max-width: 100%; height: auto; max-height: 100%;
                                  background: $surface; padding: 0 1; }
    HelpScreen .help-notes { margin-top: 1; color: $text-muted; }
    """

    def __init__(self, topic: str | None = None) -> None:
        super().__init__()
        self.topic = topic

    def compose(self) -> ComposeResult:
        beneath = next((s for s in reversed(self.app.screen_stack) if s is not self), None)
        if self.topic is None:
            self.topic = topic_for(beneath)
        topic = TOPICS[self.topic]
        with VerticalScroll(classes="pane") as box:
            box.border_title = topic.title
            box.border_subtitle = "\u2191\u2193 pgup pgdn scroll \u00b7 esc closes"
            yield Static(render_keys(self.topic, beneath), id="help-keys")
            yield Static(Text("\n\n".join(topic.notes)), id="help-notes", classes="help-notes")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

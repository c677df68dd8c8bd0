"""The new-run form: the text, the cell and the size, with what they imply before anything is built.

Every field is checked as it changes, by the same rules as the command line (a bad value is marked
beside its field with the CLI's own sentence); the side panel shows the parameter count, a memory
estimate, the speed earlier runs of this shape reached here, and the ``rnn-tui …`` line that starts
the same run. ctrl+s starts it (the app switches to its dashboard).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import DirectoryTree, Input, Label, Select, Static

from rnn_tui.ui.host import host
from rnn_tui.ui.widgets.key_bar import KeyBar

FILE = "__file__"  # the corpus choice "a text file" (its path typed or picked)
STOPS = (("steps", "max_steps"), ("time (s)", "max_time"), ("epochs", "epochs"), ("none", None))
INT_FIELDS = ("layers", "hidden_size", "embed_size", "seq_len", "batch_size", "seed")
FLOAT_FIELDS = ("dropout", "lr")
LABELS = {
    "layers": "layers",
    "hidden_size": "hidden",
    "embed_size": "embedding",
    "dropout": "dropout",
    "seq_len": "seq len",
    "batch_size": "batch",
    "lr": "learning rate",
    "seed": "seed",
}
PREVIEW_FULL_BYTES = 8 << 20  # files up to this size are read whole for the preview (vocabulary, errors)


def _demos() -> list[tuple[str, str]]:
    """Each demo by the head of its title ("Shakespeare's sonnets"), so the choice reads whole in a narrow
    field; the whole title heads the text's pane."""
    from rnn_tui.core.demos import DEMOS

    return [(demo.title.split(" (")[0].split(":")[0], name) for name, demo in DEMOS.items()]


class FilePicker(ModalScreen[str | None]):
    """Pick a text file: a directory tree from the current folder; backspace goes up a folder."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("backspace", "up", "Up a folder")]
    DEFAULT_CSS = """
    FilePicker { align: center middle; }
    FilePicker > Vertical { width: 90%; height: 90%; background: $surface; border: round $primary; }
    FilePicker DirectoryTree { height: 1fr; }
    """

    def __init__(self, start: Path) -> None:
        super().__init__()
        self.start = start

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "pick a text file (enter: choose, backspace: up, esc: cancel)"
            yield DirectoryTree(str(self.start))
        yield KeyBar()

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        self.dismiss(str(event.path))

    def action_up(self) -> None:
        tree = self.query_one(DirectoryTree)
        tree.path = Path(tree.path).resolve().parent

    def action_cancel(self) -> None:
        self.dismiss(None)


class NewRunScreen(Screen):
    BINDINGS = [
        Binding("ctrl+s", "start", "Start"),
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+o", "pick_file", "Pick a file"),
        Binding("ctrl+y", "copy_command", "Copy command", show=False),
    ]
    # Narrow or short: the fields down the left, the text, the estimate and the command down the right.
    # Wide and tall: the fields with the estimate and the command under them; the text fills the right.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (34, "-tall")]
    DEFAULT_CSS = """
    NewRunScreen #form { height: 1fr; layout: grid; grid-size: 2 3; grid-columns: 44 1fr; grid-rows: 1fr auto auto; }
    NewRunScreen #fields { height: 1fr; row-span: 3; scrollbar-size-vertical: 1; }
    NewRunScreen.-wide.-tall #form { grid-columns: 60 1fr; grid-rows: auto 1fr auto; }
    NewRunScreen.-wide.-tall #fields { height: auto; row-span: 1; }
    NewRunScreen.-wide.-tall #preview { row-span: 3; }
    NewRunScreen .row { height: 1; }
    NewRunScreen .row Label { width: 14; color: $text-muted; }
    NewRunScreen .row Input, NewRunScreen .row Select { width: 1fr; }
    /* keyboard only: the field being typed into must stand out (compact fields differ by one shade) */
    NewRunScreen .row:focus-within Label { color: $accent; text-style: bold; }
    NewRunScreen .row Input:focus, NewRunScreen .row Select:focus > SelectCurrent { background: $primary 35%; }
    NewRunScreen .problem { height: auto; color: $error; padding: 0 0 0 14; display: none; }
    NewRunScreen .problem.shown { display: block; }
    NewRunScreen #preview { height: 1fr; padding: 0 1; }
    NewRunScreen #about { height: auto; margin-top: 1; color: $text-muted; }
    NewRunScreen #preview-about { height: auto; }
    NewRunScreen #preview-head { height: 1fr; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis; }
    NewRunScreen #estimate { height: auto; padding: 0 1; }
    NewRunScreen.-wide.-tall #estimate { height: 1fr; }
    NewRunScreen #command { height: auto; padding: 0 1; color: $text-muted; }
    NewRunScreen #status { height: auto; padding: 0 1; }
    """

    class Previewed(Message):
        def __init__(self, path: str, text: Text, vocab: int | None, problem: str | None) -> None:
            super().__init__()
            self.path, self.text, self.vocab, self.problem = path, text, vocab, problem
            self.head = Text()  # the text's first lines, as many as the pane shows
            self.corpus: Any = None  # the text read whole (files up to PREVIEW_FULL_BYTES), for its checks

    def __init__(
        self, runs_root: Path, corpus: str | None = None, demo: str | None = None, values: dict | None = None
    ) -> None:
        super().__init__()
        from rnn_tui.core.demos import DEFAULT_DEMO

        self.runs_root = Path(runs_root)
        self.demo = None if corpus else (demo or DEFAULT_DEMO)
        self.corpus = corpus or ""
        self.start_values = values or {}
        self.vocab: int | None = None
        self.previewed_corpus: Any = None
        self.problems: dict[str, str] = {}
        self.corpus_problem: str | None = None

    # ---- layout ---------------------------------------------------------------------------------
    def _row(self, key: str, label: str, widget: Widget) -> ComposeResult:
        with Horizontal(classes="row", id=f"row-{key}"):
            yield Label(label)
            yield widget
        yield Static("", id=f"problem-{key}", classes="problem")

    def compose(self) -> ComposeResult:
        from rnn_tui.core.config import CELLS, PRECISIONS

        with Container(id="form"):
            with VerticalScroll(id="fields", classes="pane") as fields:
                fields.border_title = "new run"
                choices = [*_demos(), ("a text file (ctrl+o)", FILE)]
                yield from self._row(
                    "source",
                    "text",
                    Select(choices, value=self.demo or FILE, allow_blank=False, id="source", compact=True),
                )
                yield from self._row(
                    "corpus", "file", Input(self.corpus, placeholder="path of a text file", id="corpus", compact=True)
                )
                yield from self._row(
                    "cell",
                    "cell",
                    Select([(c, c) for c in CELLS], value="lstm", allow_blank=False, id="cell", compact=True),
                )
                for key in ("layers", "hidden_size", "embed_size", "dropout", "seq_len", "batch_size", "lr"):
                    field = (
                        Input(id=key, type="integer", compact=True)
                        if key in INT_FIELDS
                        else Input(id=key, type="number", compact=True)
                    )
                    yield from self._row(key, LABELS[key], field)
                yield from self._row(
                    "stop",
                    "stop after",
                    Select(
                        [(label, label) for label, _ in STOPS], value="none", allow_blank=False, id="stop", compact=True
                    ),
                )
                yield from self._row("stop_value", "  how many", Input(id="stop_value", type="number", compact=True))
                yield from self._row("seed", "seed", Input(id="seed", type="integer", compact=True))
                yield from self._row(
                    "precision",
                    "precision",
                    Select([(p, p) for p in PRECISIONS], value="auto", allow_blank=False, id="precision", compact=True),
                )
                yield from self._row(
                    "device",
                    "device",
                    Select(
                        [(d, d) for d in ("auto", "cpu", "cuda", "mps")],
                        value="auto",
                        allow_blank=False,
                        id="device",
                        compact=True,
                    ),
                )
                yield from self._row(
                    "name", "run name", Input(placeholder="(text, cell, time)", id="name", compact=True)
                )
                yield Static("", id="about")  # what the demo teaches: in the room the fields leave
            with Vertical(id="preview", classes="pane") as preview:
                preview.border_title = "the text"
                yield Static("", id="preview-about")
                yield Static("", id="preview-head")
            estimate = Static("", id="estimate", classes="pane")
            estimate.border_title = "what it takes"
            yield estimate
            command = Static("", id="command", classes="pane")
            command.border_title = "as a command (ctrl+y copies)"
            yield command
        yield Static("", id="status")
        yield KeyBar()

    def on_mount(self) -> None:
        self._fill(self.start_values)
        self._corpus_changed()
        self._changed()
        self.query_one("#source", Select).focus()

    def _fill(self, values: dict) -> None:
        """Put a configuration in the fields: the defaults, a demo's, or what the form is opened with."""
        from rnn_tui.core.config import TrainConfig

        defaults = TrainConfig().to_dict()
        if self.demo:
            from rnn_tui.core.demos import DEMOS

            defaults.update(DEMOS[self.demo].defaults)
        defaults.update(values)
        for key in ("layers", "hidden_size", "embed_size", "dropout", "seq_len", "batch_size", "lr", "seed"):
            value = defaults[key]
            self.query_one(f"#{key}", Input).value = f"{value:g}" if isinstance(value, float) else str(value)
        self.query_one("#cell", Select).value = defaults["cell"]
        self.query_one("#precision", Select).value = defaults.get("precision", "auto")
        device = defaults.get("device", "auto")
        self.query_one("#device", Select).value = device if device in ("auto", "cpu", "cuda", "mps") else "auto"
        for label, field in STOPS:
            if field and defaults.get(field) is not None:
                self.query_one("#stop", Select).value = label
                value = defaults[field]
                self.query_one("#stop_value", Input).value = f"{value:g}" if isinstance(value, float) else str(value)
                break
        else:
            self.query_one("#stop", Select).value = "none"

    # ---- reading and checking the fields ---------------------------------------------------------
    def values(self) -> tuple[dict, dict[str, str]]:
        """(TrainConfig overrides, problems by field), by the command line's own rules."""
        from rnn_tui.core.config import TrainConfig
        from rnn_tui.core.errors import UserError

        overrides: dict = {}
        problems: dict[str, str] = {}
        for key in (*INT_FIELDS, *FLOAT_FIELDS):
            text = self.query_one(f"#{key}", Input).value.strip()
            try:
                overrides[key] = int(text) if key in INT_FIELDS else float(text)
            except ValueError:
                problems[key] = f"{text!r} is not a {'whole number' if key in INT_FIELDS else 'number'}"
        overrides["cell"] = self.query_one("#cell", Select).value
        overrides["precision"] = self.query_one("#precision", Select).value
        overrides["device"] = self.query_one("#device", Select).value
        stop = dict(STOPS).get(str(self.query_one("#stop", Select).value))
        if stop:
            text = self.query_one("#stop_value", Input).value.strip()
            try:
                overrides[stop] = int(float(text)) if stop == "max_steps" else float(text)
            except ValueError:
                problems["stop_value"] = f"{text!r} is not a number" if text else "how many? (or stop after: none)"
        # Each field on its own, so the sentence lands beside it: on a minimal model, so that a size is judged
        # with the other sizes the form holds (below), never with the defaults'.
        base = TrainConfig(layers=1, hidden_size=1, embed_size=1)
        for key, value in list(overrides.items()):
            try:
                base.with_changes(**{key: value}).validated()
            except UserError as exc:
                problems["stop_value" if key == stop else key] = str(exc)
        if not problems:
            try:
                TrainConfig().with_changes(**overrides).validated()
            except UserError as exc:
                problems["hidden_size"] = str(exc)  # the combination (the model's size) is what is refused
        name = self.query_one("#name", Input).value.strip()
        if name:
            from rnn_tui.core.paths import name_taken, new_name_problem, shown

            problem = new_name_problem(name)
            problems_name = f"{shown(name)} {problem}" if problem else name_taken(self.runs_root, name)
            if problems_name:
                problems["name"] = problems_name
        return overrides, problems

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "corpus":
            self._corpus_changed()
        self._changed()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "source":
            value = event.value
            self.demo = None if value == FILE else str(value)
            if self.demo:
                self._fill({})
            self._corpus_changed()
        self._changed()

    def _corpus_changed(self) -> None:
        self.vocab, self.previewed_corpus = None, None  # until the new text is read
        self.query_one("#row-corpus").display = not self.demo  # a demo needs no path
        about = self.query_one("#about", Static)
        about.display = bool(self.demo)
        if self.demo:
            from rnn_tui.core.demos import DEMOS

            about.update(Text(DEMOS[self.demo].blurb))
            self._preview_demo(self.demo)
            return
        path = self.query_one("#corpus", Input).value.strip()
        if not path:
            self.corpus_problem = "type the path of a text file, or ctrl+o to pick one"
            self._show_preview(Text(self.corpus_problem, style="italic"), Text())
            return
        self._preview_file(os.path.expanduser(path))

    @work(thread=True, exclusive=True, group="preview", exit_on_error=False, description="reading the demo text")
    def _preview_demo(self, name: str) -> None:
        from rnn_tui.core.demos import demo_path

        try:
            path = str(demo_path(name))
        except Exception as exc:  # noqa: BLE001 - shown beside the field, never a crash
            self.post_message(self.Previewed(name, Text(str(exc), style="red"), None, str(exc)))
            return
        self._preview(path, key=name)

    @work(thread=True, exclusive=True, group="preview", exit_on_error=False, description="reading the text")
    def _preview_file(self, path: str) -> None:
        self._preview(path, key=path)

    def _preview(self, path: str, key: str) -> None:
        from rnn_tui.core.corpus import load_corpus
        from rnn_tui.core.errors import UserError
        from rnn_tui.core.paths import check_regular_file

        try:
            check_regular_file(Path(path))
            size = Path(path).stat().st_size
        except UserError as exc:
            self.post_message(self.Previewed(key, Text(str(exc), style="red"), None, str(exc)))
            return
        except OSError as exc:
            self.post_message(self.Previewed(key, Text(f"{path}: {exc.strerror}", style="red"), None, str(exc)))
            return
        text = Text()
        if size > PREVIEW_FULL_BYTES:
            text.append(f"{size / 1e6:,.1f} MB (read in full when training starts)")
            self.post_message(self.Previewed(key, text, None, None))
            return
        try:
            corpus = load_corpus(path)
        except UserError as exc:
            self.post_message(self.Previewed(key, Text(str(exc), style="red"), None, str(exc)))
            return
        text.append(f"{size / 1e3:,.0f} KB \u00b7 {corpus.n_chars:,} characters \u00b7 vocabulary {len(corpus.vocab)}")
        previewed = self.Previewed(key, text, len(corpus.vocab), None)
        previewed.head = Text("\n".join(corpus.text(0, min(corpus.n_chars, 6000)).splitlines()[:60]))
        previewed.corpus = corpus
        self.post_message(previewed)

    def on_new_run_screen_previewed(self, message: Previewed) -> None:
        current = self.demo or os.path.expanduser(self.query_one("#corpus", Input).value.strip())
        if message.path != current:
            return  # an older preview
        self._show_preview(message.text, message.head)
        self.vocab, self.corpus_problem = message.vocab, message.problem
        self.previewed_corpus = message.corpus
        self._changed()

    def _show_preview(self, about: Text, head: Text) -> None:
        self.query_one("#preview-about", Static).update(about)
        self.query_one("#preview-head", Static).update(head)

    def _changed(self) -> None:
        """Mark bad fields and redo the estimate and the command line."""
        from rnn_tui.core.config import TrainConfig
        from rnn_tui.core.newrun import command_line, estimate, format_bytes

        if not self.is_mounted:
            return
        self.query_one("#row-stop_value").display = self.query_one("#stop", Select).value != "none"
        overrides, problems = self.values()
        self.problems = problems
        for widget in self.query(".problem").results(Static):
            key = (widget.id or "").removeprefix("problem-")
            shown = problems.get(key) or (self.corpus_problem if key == "corpus" and not self.demo else None)
            widget.update(Text(shown or ""))
            widget.set_class(bool(shown), "shown")
        if problems:
            self.query_one("#estimate", Static).update(Text("fix the marked fields", style="italic"))
            return
        config = TrainConfig().with_changes(**overrides)
        vocab = self.vocab or 100
        est = estimate(config, vocab, self.runs_root)
        text = Text(f"{est.parameters:,} parameters{'' if self.vocab else ' (about)'}\n")
        text.append(f"~{format_bytes(est.memory_bytes)} to train (weights, AdamW, activations)\n")
        per_step = config.batch_size * config.seq_len
        text.append(f"{per_step:,} chars a step ({config.batch_size} \u00d7 {config.seq_len})\n")
        if self.previewed_corpus is not None:  # the training part: all but the validation share
            train_chars = self.previewed_corpus.n_chars * (1 - config.val_frac)
            text.append(f"~{max(1, round(train_chars / per_step)):,} steps a pass over the text\n")
        if est.chars_per_sec:
            text.append(
                f"~{est.chars_per_sec:,.0f} chars/s here (from {est.speed_from} earlier run"
                f"{'s' if est.speed_from != 1 else ''} of this shape)"
            )
        else:
            text.append("speed here: not known yet (no earlier run of this shape)", style="dim")
        self.query_one("#estimate", Static).update(text)
        corpus = self.query_one("#corpus", Input).value.strip() or None
        name = self.query_one("#name", Input).value.strip() or None
        self.command = command_line(corpus, self.demo, config, name)
        self.query_one("#command", Static).update(Text(self.command))

    # ---- actions ----------------------------------------------------------------------------------
    def action_pick_file(self) -> None:
        def picked(path: str | None) -> None:
            if path:
                self.query_one("#source", Select).value = FILE
                self.demo = None
                self.query_one("#corpus", Input).value = path

        self.app.push_screen(FilePicker(Path.cwd()), picked)

    def action_copy_command(self) -> None:
        command = getattr(self, "command", "")
        if command:
            self.app.copy_to_clipboard(command)
            self.query_one("#status", Static).update(Text(f"copied: {command}", style="green"))

    def _refused_before_start(self, overrides: dict) -> str | None:
        """What the trainer would refuse at its start, found here: a text too short for one batch, a device
        this machine lacks. Starting stops the run that trains now, so a refusal must come first."""
        from rnn_tui.core.errors import UserError

        corpus = self.previewed_corpus
        if corpus is not None:
            from rnn_tui.core.corpus import check_trainable

            try:
                check_trainable(corpus, overrides["seq_len"], overrides["batch_size"])
            except UserError as exc:
                return str(exc)
        if overrides.get("device", "auto") != "auto":
            from rnn_tui.core.device import resolve

            try:
                resolve(overrides["device"])
            except UserError as exc:
                return str(exc)
        return None

    def action_cancel(self) -> None:
        self.app.pop_screen()

    def action_start(self) -> None:
        from rnn_tui.core.errors import UserError
        from rnn_tui.core.orchestrate import RunRequest

        overrides, problems = self.values()
        status = self.query_one("#status", Static)
        if problems or (not self.demo and self.corpus_problem):
            first = next(iter(problems.values()), None) or self.corpus_problem
            status.update(Text(f"cannot start: {first}", style="bold red"))
            return
        problem = self._refused_before_start(overrides)
        if problem:
            status.update(Text(f"cannot start: {problem}", style="bold red"))
            return
        options = dict(overrides)
        if self.demo:
            options["demo"] = self.demo
        else:
            options["corpus"] = os.path.expanduser(self.query_one("#corpus", Input).value.strip())
        name = self.query_one("#name", Input).value.strip()
        if name:
            options["name"] = name
        options["runs_dir"] = str(self.runs_root)
        try:
            request = RunRequest.from_options(options)
            request.check()
        except UserError as exc:
            status.update(Text(f"cannot start: {exc}", style="bold red"))
            return
        app = host(self)
        self.app.pop_screen()
        app.start_training(request)

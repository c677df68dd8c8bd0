"""A small app for a saved run: the gate view or interactive sampling, no training.

Its keys are the training app's (HELP_BINDINGS, q): the screens are the same classes.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.binding import Binding

from rnn_tui.ui.screens.help import HELP_BINDINGS, HelpActions

SAMPLE_FOR_GATES = 2000  # characters generated at least once for the gate view's "sample" source


class ViewerApp(HelpActions, App):
    CSS_PATH = "app.tcss"
    TITLE = "rnn-tui"
    BINDINGS = [Binding("q", "request_quit", "Quit"), *HELP_BINDINGS]

    def __init__(self, loaded, screen: str, settings: dict | None = None, validation_text: str | None = None) -> None:
        super().__init__()
        self.latest_snapshot, self.run_dir = loaded
        self.first_screen = screen
        self.settings = settings or {}
        self.validation_text = validation_text
        self._gate_sample = ""  # the weights never change here: one sample serves every trace
        if validation_text is None and self.run_dir is not None:
            from rnn_tui.core.session import validation_text
            from rnn_tui.ui.screens.gates import MAX_TRACE_CHARS

            self.validation_text = validation_text(Path(self.run_dir), MAX_TRACE_CHARS)

    def on_mount(self) -> None:
        if not self.is_headless:
            from rnn_tui.ui.app import terminal_alive

            self.set_interval(1.0, lambda: None if terminal_alive() else self.exit(return_code=129))
        if self.first_screen == "gates":
            from rnn_tui.ui.screens.gates import GatesScreen

            self.push_screen(GatesScreen(source="validation" if self.validation_text else "sample"))
        else:
            from rnn_tui.ui.screens.sample import SampleScreen

            self.push_screen(SampleScreen(self.settings))

    training_live = False  # a saved run: nothing trains beside the viewer

    def request_snapshot(self) -> None:
        pass  # the weights of a saved run do not change

    def gate_text(self, source: str, length: int) -> str | None:
        if source == "validation":
            return self.validation_text[:length] if self.validation_text else None
        if source == "sample":
            if len(self._gate_sample) < length:
                from rnn_tui.core.config import SampleConfig
                from rnn_tui.core.corpus import Vocab
                from rnn_tui.core.model import build_from_weights
                from rnn_tui.core.sampling import sample_text

                snap = self.latest_snapshot
                vocab = Vocab(snap.vocab)
                model = build_from_weights(snap.config, snap.vocab, snap.weights)
                prime = "\n" if "\n" in vocab.index else vocab.chars[0]
                size = max(length, SAMPLE_FOR_GATES)
                self._gate_sample = prime + sample_text(model, vocab, SampleConfig(prime=prime, length=size, seed=0))
            return self._gate_sample[:length]
        return None

    def sample_save_dir(self):
        return Path(self.run_dir) / "samples" if self.run_dir else None

    def pop_screen_or_exit(self) -> None:
        if len(self.screen_stack) <= 2:
            self.exit()
        else:
            self.pop_screen()

    def action_request_quit(self) -> None:
        self.exit()  # nothing trains here, so nothing to save

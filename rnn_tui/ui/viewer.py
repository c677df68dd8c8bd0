"""A small app for a saved run: the gate view or interactive sampling, no training.

The screens are the training app's; this app serves them the run's weights (see host.py for the
contract) and shares keys, help and styles with it (base.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rnn_tui.ui.base import RnnTuiBase

if TYPE_CHECKING:
    from rnn_tui.core.compare import CompareRow
    from rnn_tui.core.events import Snapshot
    from rnn_tui.ui.host import ScreenHost, TrainerCommand

SAMPLE_FOR_GATES = 2000  # characters generated at least once for the gate view's "sample" source


class ViewerApp(RnnTuiBase):
    def __init__(
        self,
        loaded: tuple[Snapshot, str | None],
        screen: str,
        settings: dict | None = None,
        validation_text: str | None = None,
    ) -> None:
        super().__init__()
        self.latest_snapshot: Snapshot | None
        self.latest_snapshot, self.run_dir = loaded
        self.first_screen = screen
        self.settings = settings or {}
        self.validation_text = validation_text
        self._gate_sample = ""  # the weights never change here: one sample serves every trace
        self.asking = False  # the unsaved-text question is up
        if validation_text is None and self.run_dir is not None:
            from rnn_tui.core.session import validation_text as saved_validation_text
            from rnn_tui.ui.screens.gates import MAX_TRACE_CHARS

            self.validation_text = saved_validation_text(Path(self.run_dir), MAX_TRACE_CHARS)

    def on_mount(self) -> None:
        if self.first_screen == "gates":
            from rnn_tui.ui.screens.gates import GatesScreen

            self.push_screen(GatesScreen(source="validation" if self.validation_text else "sample"))
        else:
            from rnn_tui.ui.screens.sample import SampleScreen

            self.push_screen(SampleScreen(self.settings))

    # ---- what the screens ask (ScreenHost) ------------------------------------
    training_live = False  # a saved run: nothing trains beside the viewer

    @property
    def run_name(self) -> str | None:
        return Path(self.run_dir).name if self.run_dir else None

    def request_snapshot(self) -> None:
        pass  # the weights of a saved run do not change

    def send_command(self, command: TrainerCommand) -> None:
        pass  # no trainer to command

    def gate_text(self, source: str, length: int) -> str | None:
        if source == "validation":
            return self.validation_text[:length] if self.validation_text else None
        if source == "sample" and self.latest_snapshot is not None:
            if len(self._gate_sample) < length:
                self._gate_sample = _sample_for_gates(self.latest_snapshot, max(length, SAMPLE_FOR_GATES))
            return self._gate_sample[:length]
        return None

    def sample_save_dir(self) -> Path | None:
        return Path(self.run_dir) / "samples" if self.run_dir else None

    def compare_rows(self) -> list[CompareRow]:
        return []

    # The playground's part of the contract: this app shows one saved run and starts nothing.
    @property
    def runs_folder(self) -> Path:
        from rnn_tui.core.paths import runs_dir

        return Path(self.run_dir).parent if self.run_dir else runs_dir(None)

    live_run_dir = None

    def _cannot(self) -> None:
        self.notify(
            "this view shows one saved run; `rnn-tui` (the home screen) starts and opens runs", severity="warning"
        )

    def start_training(self, request: Any, ghost: list | None = None) -> None:
        self._cannot()

    def start_new_run(self, options: dict) -> None:
        self._cannot()

    def resume_run(self, name: str) -> None:
        self._cannot()

    def attach_run(self, run_dir: str) -> None:
        self._cannot()

    def show_dashboard(self) -> None:
        self._cannot()

    def go_home(self) -> None:
        self._cannot()

    def browse_run(self, run_dir: str, which: str) -> None:
        self._cannot()

    def reset_run(self) -> None:
        self._cannot()

    def new_run_settings(self) -> tuple[str | None, dict]:
        return None, {}

    def pop_screen_or_exit(self) -> None:
        if len(self.screen_stack) <= 2:
            self.action_request_quit()
        else:
            self.pop_screen()

    # ---- leaving: generated text is the one thing here that can be lost -------------
    def action_request_quit(self) -> None:
        from rnn_tui.ui.screens.sample import SampleScreen

        unsaved = [s for s in self.screen_stack if isinstance(s, SampleScreen) and s.unsaved]
        if not unsaved:
            self.exit()
            return
        if self.asking:
            return
        from rnn_tui.ui.screens.confirm import ConfirmScreen

        def answered(yes: bool | None) -> None:
            self.asking = False
            if yes:
                self.exit()

        self.asking = True
        self.push_screen(
            ConfirmScreen(
                "Quit without saving the generated text?",
                "n, then ctrl+s, saves it into the run's samples folder.",
            ),
            answered,
        )

    async def action_quit(self) -> None:
        """ctrl+q and the palette's "Quit" ask too."""
        self.action_request_quit()


def _sample_for_gates(snapshot: Snapshot, length: int) -> str:
    """Generated text for the gate view's "sample" source: seeded, so every trace reads the same."""
    from rnn_tui.core.config import SampleConfig
    from rnn_tui.core.corpus import Vocab
    from rnn_tui.core.model import build_from_weights
    from rnn_tui.core.sampling import sample_text

    vocab = Vocab(snapshot.vocab)
    model = build_from_weights(snapshot.config, snapshot.vocab, snapshot.weights)
    prime = "\n" if "\n" in vocab.index else vocab.chars[0]
    return prime + sample_text(model, vocab, SampleConfig(prime=prime, length=length, seed=0))


if TYPE_CHECKING:
    _host: type[ScreenHost] = ViewerApp  # mypy holds the viewer to the screens' contract

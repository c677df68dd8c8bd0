"""What both apps share: styles, keys and help, the terminal watchdog, failed workers shown.

The training app (app.py) and the viewer of a saved run (viewer.py) host the same screens
(see host.py for what those may ask); everything they have in common lives here once.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path, PurePath

from textual.actions import SkipAction
from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from rnn_tui.ui.host import show_failed_worker
from rnn_tui.ui.screens.help import HELP_BINDINGS, HelpScreen

TERMINAL_CHECK_EVERY = 1.0  # seconds between looks at whether the terminal is still there
# Absolute: Textual reads a relative CSS_PATH beside the file of each subclass.
SHARED_CSS_PATHS: list[str | PurePath] = [Path(__file__).with_name("app.tcss")]


def terminal_alive() -> bool:
    try:
        return os.isatty(sys.__stdout__.fileno())  # type: ignore[union-attr]
    except (AttributeError, OSError, ValueError):
        return False


class RnnTuiBase(App):
    """The keys, help and styles of both apps; subclasses add their screens and what they serve them."""

    CSS_PATH = SHARED_CSS_PATHS  # shared styles only: each screen brings its own layout
    TITLE = "rnn-tui"
    # q is the way out everywhere; ?, F1 and Esc (which closes the Keys panel) are help's.
    BINDINGS = [Binding("q", "request_quit", "Quit"), *HELP_BINDINGS]

    def on_mount(self) -> None:
        # Everything built so far (Textual, the screens, rich) lives as long as the app: move it out of
        # the collector's reach, so a full collection walks only what came later (no pause on a key).
        gc.collect()
        gc.freeze()
        # A full collection walks every object made since (a viewer's history, torch when a view needs
        # it): 50-160 ms measured, a key press late by as much. The screen makes little cyclic garbage,
        # so full collections run a hundred times less often; the young generations stay as they were.
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, 1000)
        if not (self.is_headless or self.is_web):  # served (cli/serve.py): stdout is a pipe, its driver hangs up
            self.set_interval(TERMINAL_CHECK_EVERY, self._check_terminal)

    def _check_terminal(self) -> None:
        """The terminal went away without a hang-up reaching us: leave rather than spin on it."""
        if not terminal_alive():
            self.exit(return_code=129)

    def action_request_quit(self) -> None:
        self.exit()

    # ---- help: ?, F1, and Esc closing the Keys panel (palette > Keys) -------------
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Without a Keys panel open, Esc is not ours: the screen's own Esc runs (and stays in the footer).
        if action == "hide_keys":
            return bool(self.screen.query("HelpPanel"))
        return super().check_action(action, parameters)

    def action_hide_keys(self) -> None:
        panels = self.screen.query("HelpPanel")
        if not panels:
            raise SkipAction()
        panels.remove()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            show_failed_worker(self, event.worker)

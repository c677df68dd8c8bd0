"""How the training app ends: every way out saves the run, or leaves its trainer running on purpose.

q, ctrl+q, ctrl+c and the palette ask (when the trainer has a process of its own) whether to stop
it or leave it running; SIGTERM stops; a hang-up or a vanished terminal follows ``--on-hangup``.
Stopping waits for the trainer's save (at most ``QUIT_GRACE`` on screen; ui/launch.py waits for
the rest), and ``exiting`` tells the exit guard (ui/exit_guard.py) the app is on its way out.
A mixin of ``RnnTuiApp``; it expects ``bridge``, ``quitting``, ``asking_quit``, ``exiting``,
``exit_code``, ``run_name`` and ``status`` there.
"""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING, Any

from rnn_tui.ui.base import terminal_alive

if TYPE_CHECKING:  # for the type checker the mixin is the app it is mixed into
    from rnn_tui.ui.base import RnnTuiBase as _App
else:
    _App = object

QUIT_GRACE = 10.0  # seconds to wait on screen for the trainer to save before exiting anyway


class QuitFlow(_App):
    bridge: Any
    quitting: bool
    asking_quit: bool
    exit_code: int
    exiting: threading.Event

    @property
    def run_name(self) -> str | None: ...

    def status(self, message: str, level: str = "info") -> None: ...

    def _check_terminal(self) -> None:
        """The terminal went away without a SIGHUP reaching us (nohup, a pty we do not control):
        save and leave as if hung up, rather than spin on a dead terminal."""
        if not terminal_alive():
            self.on_signal(signal.SIGHUP)

    def exit(self, result=None, return_code: int = 0, message=None) -> None:
        self.exiting.set()  # the exit guard (ui/exit_guard.py) watches for this
        super().exit(result, return_code, message)

    async def action_quit(self) -> None:
        """Textual's own ways out (ctrl+q, the palette's "Quit") save the run like q does."""
        self.action_request_quit()

    def action_request_quit(self, code: int = 0) -> None:
        self.exit_code = code
        training = self.bridge is not None and not self.bridge.done.is_set()
        if not training:
            self.exit(return_code=code)
            return
        if self.quitting:  # asked twice: go now, the trainer saves on its own thread
            self.exit(return_code=code)
            return
        if self.bridge.can_leave_running:  # the trainer has a process of its own
            if code == 0 and not self.asking_quit:
                self._ask_how_to_quit()
                return
            if code == 128 + signal.SIGHUP and self.bridge.on_hangup == "continue":
                self.leave_training_running(code)
                return
        self.stop_and_quit(code)

    def _ask_how_to_quit(self) -> None:
        from rnn_tui.ui.screens.quit import QuitScreen

        def chosen(choice: str | None) -> None:
            self.asking_quit = False
            if choice == "stop":
                self.stop_and_quit(0)
            elif choice == "leave":
                self.leave_training_running(0)

        self.asking_quit = True
        self.push_screen(QuitScreen(self.run_name), chosen)

    def leave_training_running(self, code: int = 0) -> None:
        """Quit this view only: the trainer process goes on, and `rnn-tui attach` comes back to it."""
        self.quitting = True
        self.bridge.detach()
        self.exit(return_code=code)

    def stop_and_quit(self, code: int = 0) -> None:
        """Save the run and stop the training, then quit (as soon as it is saved)."""
        if self.quitting:
            return
        self.quitting = True
        from rnn_tui.core.orchestrate import signal_reason

        self.bridge.stop("quit" if code == 0 else signal_reason(code - 128))
        self.status("saving the run and quitting\u2026", "warning")
        self.set_timer(QUIT_GRACE, lambda: self.exit(return_code=self.exit_code))
        self.set_interval(0.1, self._check_done)

    def _check_done(self) -> None:
        if self.bridge is not None and self.bridge.done.is_set():
            self.exit(return_code=self.exit_code)

    def on_signal(self, signum: int) -> None:
        self.action_request_quit(128 + signum)

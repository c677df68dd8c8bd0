"""The last net under a vanished terminal: once the run is saved, the process ends.

When the terminal goes away (an SSH drop, a closed tmux window), Textual's shutdown can block
forever writing to it (seen: the driver's writer queue full, its thread gone), leaving a process
nobody can see. This guard waits for the app to begin exiting and for the trainer to finish its
final save; if the main thread has not come back from the app a few seconds later, it ends the
process with the app's exit code. The run is saved by then, so nothing is lost.
"""

from __future__ import annotations

import os
import threading

HANG_SECONDS = 5.0  # a shutdown slower than this after the save is hung (a loaded machine may need seconds)
GONE_SECONDS = 0.5  # with the terminal gone there is nothing left to draw: end soon after the save


class ExitGuard(threading.Thread):
    def __init__(
        self,
        exiting: threading.Event,
        trainer_done,
        exit_code,
        hard_exit=os._exit,
        hang_seconds: float = HANG_SECONDS,
        terminal_alive=lambda: True,
    ) -> None:
        super().__init__(daemon=True, name="rnn-tui-exit-guard")
        self.exiting = exiting
        self.trainer_done = trainer_done
        self.exit_code = exit_code  # called when needed: the app's return code by then
        self.hard_exit = hard_exit
        self.hang_seconds = hang_seconds
        self.terminal_alive = terminal_alive
        self.returned = threading.Event()  # set by the main thread once the app has returned

    def run(self) -> None:
        while not self.exiting.wait(0.5):
            if self.returned.is_set():
                return
        done = self.trainer_done() if callable(self.trainer_done) else self.trainer_done  # the app's bridge then
        if done is not None:
            while not done.wait(0.5):
                if self.returned.is_set():
                    return  # the main thread is back and waits for the save itself
        waited = 0.0
        while waited < self.hang_seconds:
            if self.returned.wait(0.1):
                return
            waited += 0.1
            if waited >= GONE_SECONDS and not self.terminal_alive():
                break
        code = self.exit_code()
        self.hard_exit(code if isinstance(code, int) else 1)

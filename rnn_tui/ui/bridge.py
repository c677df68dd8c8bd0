"""The trainer on a thread of the app (``--in-process``): a thread worker, a command queue.

``ui/remote.py`` is the other way, the default: the trainer in a process of its own. Only these two
modules know how the trainer runs; the app sees the same surface from both.

The orchestrator (core) does the work on that thread and calls ``sink(event)``, which posts a
Textual message (thread-safe, never waits on the UI). Commands go the other way on a
``queue.Queue`` that the trainer reads between steps.
"""

from __future__ import annotations

import queue
import threading

from rnn_tui.ui.messages import CompareMeasured, SetupFailed, SnapshotReady, TrainerEvent


class TrainerBridge:
    can_leave_running = False  # the trainer is a thread of this process: leaving stops it

    def __init__(self, app, request, report_interval: float = 0.25):
        from rnn_tui.core.orchestrate import Orchestrator

        self.app = app
        self.request = request
        self.commands: queue.Queue = queue.Queue()
        self.orchestrator = Orchestrator(
            request, self._sink, report_interval=report_interval, commands=self.commands, progress=self._load_progress
        )
        self.done = threading.Event()
        self.started = False
        self.stop_reason: str | None = None

    # What the app reads while training runs (each a reference swap on the worker thread).
    @property
    def prepared(self):
        return self.orchestrator.prepared

    @property
    def results(self) -> list:
        return self.orchestrator.results

    def start(self) -> None:
        if self.started:  # once: a second worker would find the run locked, fail, and mark this one done
            return
        self.started = True
        self.app.run_worker(
            self._work, name="trainer", group="trainer", thread=True, exclusive=True, exit_on_error=False
        )

    def _sink(self, event) -> None:
        from rnn_tui.core import events as ev

        if isinstance(event, ev.Snapshot):
            self.app.post_message(SnapshotReady(event))
        elif isinstance(event, ev.CompareMeasured):
            self.app.post_message(CompareMeasured(event.cell, event.decay))
        else:
            self.app.post_message(TrainerEvent(event))

    def _work(self) -> None:
        from rnn_tui.core.priority import lower_thread_priority

        # Before torch starts its worker threads (they inherit this): the screen, at normal priority,
        # then gets a core the moment it needs one, and training has every cycle it does not use.
        lower_thread_priority(5)
        from rnn_tui.core.errors import UserError

        try:
            self.orchestrator.run()
        except Exception as exc:  # noqa: BLE001 - every setup failure reaches the screen, never a silent hang
            from rnn_tui.core.corpus import LoadStopped

            if isinstance(exc, LoadStopped) and self.stop_reason is not None:
                return  # the app asked for the stop and is leaving already
            user = isinstance(exc, UserError)
            text = str(exc) if user else f"could not prepare the run: {type(exc).__name__}: {exc}"
            line = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
            self.app.post_message(SetupFailed(line, 2 if user else 1))
        finally:
            self.done.set()

    def _load_progress(self, done: int, total: int) -> None:
        if done * 10 // total != getattr(self, "_load_tenth", -1):
            self._load_tenth = done * 10 // total
            from rnn_tui.core.events import Notice

            self._sink(Notice("info", f"reading the corpus: {done / total:.0%} of {total // 2 / 1e6:,.0f} MB"))

    def send(self, command) -> None:
        self.commands.put(command)

    def stop(self, reason: str = "stopped") -> None:
        self.stop_reason = reason
        self.orchestrator.stop(reason)

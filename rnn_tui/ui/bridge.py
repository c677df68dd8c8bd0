"""The only module that knows how the trainer runs: a thread worker, a command queue.

The trainer calls ``sink(event)``, which posts a Textual message
(thread-safe, never waits on the UI). Commands go the other way on a
``queue.Queue`` that the trainer reads between steps.
"""

from __future__ import annotations

import queue
import threading

from rnn_tui.ui.messages import SetupFailed, SnapshotReady, TrainerEvent


class TrainerBridge:
    def __init__(self, app, corpus: str | None, session: dict, overrides: dict, report_interval: float = 0.25):
        self.app = app
        self.corpus = corpus
        self.session = session
        self.overrides = overrides
        self.report_interval = report_interval
        self.commands: queue.Queue = queue.Queue()
        self.trainer = None
        self.prepared = None
        self.done = threading.Event()
        self.stop_reason: str | None = None

    def start(self) -> None:
        self.app.run_worker(self._work, name="trainer", group="trainer", thread=True, exclusive=True, exit_on_error=False)

    def _sink(self, event) -> None:
        from rnn_tui.core.events import Snapshot

        if isinstance(event, Snapshot):
            self.app.post_message(SnapshotReady(event))
        else:
            self.app.post_message(TrainerEvent(event))

    def _work(self) -> None:
        from rnn_tui.core.errors import UserError
        from rnn_tui.core.session import demo_corpus_path, prepare

        try:
            try:
                corpus = self.corpus
                if corpus is None and not self.session.get("resume"):
                    corpus = demo_corpus_path()
                self.prepared = prepare(
                    corpus, self.overrides, runs_dir=self.session.get("runs_dir"), name=self.session.get("name"),
                    resume=self.session.get("resume"), allow_corpus_change=self.session.get("allow_corpus_change", False),
                )
            except UserError as exc:
                self.app.post_message(SetupFailed(str(exc)))
                return
            if self.stop_reason is not None:
                return
            from rnn_tui.core.trainer import Trainer

            p = self.prepared
            self.trainer = Trainer(p.config, p.corpus, p.run, resume=p.resume, notes=tuple(p.notes),
                                   report_interval=self.report_interval)
            if self.stop_reason is not None:
                self.trainer.request_stop(self.stop_reason)
            self.trainer.run(self._sink, self.commands)
        finally:
            if self.prepared is not None:
                self.prepared.lock.release()
            self.done.set()

    def send(self, command) -> None:
        self.commands.put(command)

    def stop(self, reason: str = "stopped") -> None:
        self.stop_reason = reason
        if self.trainer is not None:
            self.trainer.request_stop(reason)

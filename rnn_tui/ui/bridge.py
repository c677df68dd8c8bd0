"""The only module that knows how the trainer runs: a thread worker, a command queue.

The trainer calls ``sink(event)``, which posts a Textual message
(thread-safe, never waits on the UI). Commands go the other way on a
``queue.Queue`` that the trainer reads between steps.
"""

from __future__ import annotations

import queue
import threading

from rnn_tui.ui.messages import CompareMeasured, SetupFailed, SnapshotReady, TrainerEvent


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
        self.results: list = []  # each run's Finished or Failed, for the exit message

    def start(self) -> None:
        self.app.run_worker(self._work, name="trainer", group="trainer", thread=True, exclusive=True, exit_on_error=False)

    def _sink(self, event) -> None:
        from rnn_tui.core.events import Snapshot

        if isinstance(event, Snapshot):
            self.app.post_message(SnapshotReady(event))
        else:
            self.app.post_message(TrainerEvent(event))

    def _work(self) -> None:
        from rnn_tui.core.priority import lower_thread_priority

        # Before torch starts its worker threads (they inherit this): the screen, at normal priority,
        # then gets a core the moment it needs one, and training has every cycle it does not use.
        lower_thread_priority(5)
        from rnn_tui.core.errors import UserError
        from rnn_tui.core.session import demo_corpus_path

        try:
            corpus = self.corpus
            if corpus is None and not self.session.get("resume"):
                corpus = demo_corpus_path()
            if self.session.get("compare"):
                self._compare(corpus)
            else:
                self._train(corpus, self.overrides, self.session.get("name"))
        except Exception as exc:  # noqa: BLE001 - every setup failure reaches the screen, never a silent hang
            from rnn_tui.core.corpus import LoadStopped

            if isinstance(exc, LoadStopped) and self.stop_reason is not None:
                return  # the app asked for the stop and is leaving already
            user = isinstance(exc, UserError)
            text = str(exc) if user else f"could not prepare the run: {type(exc).__name__}: {exc}"
            failed = SetupFailed(text.strip().splitlines()[0] if text.strip() else type(exc).__name__)
            failed.exit_code = 2 if user else 1
            self.app.post_message(failed)
        finally:
            self.done.set()

    def _train(self, corpus, overrides: dict, name: str | None):
        from rnn_tui.core.session import prepare
        from rnn_tui.core.trainer import Trainer

        self.prepared = p = prepare(
            corpus, overrides, runs_dir=self.session.get("runs_dir"), name=name,
            resume=self.session.get("resume"), allow_corpus_change=self.session.get("allow_corpus_change", False),
            progress=self._load_progress, should_stop=lambda: self.stop_reason is not None,
        )
        try:
            if self.stop_reason is not None:
                return None
            self.trainer = Trainer(p.config, p.corpus, p.run, resume=p.resume, notes=tuple(p.notes),
                                   report_interval=self.report_interval)
            if self.stop_reason is not None:
                self.trainer.request_stop(self.stop_reason)
            self.results.append(self.trainer.run(self._sink, self.commands))
            return self.trainer
        finally:
            p.lock.release()

    def _compare(self, corpus) -> None:
        from rnn_tui.core.compare import plan
        from rnn_tui.core.config import TrainConfig
        from rnn_tui.core.corpus import load_corpus
        from rnn_tui.core.gradflow import decay, gradient_flow_for
        from rnn_tui.core.runs import default_name

        cells = self.session["compare"]
        config = TrainConfig().with_changes(**self.overrides).validated()
        vocab_size = len(load_corpus(corpus, encoding=config.encoding).vocab) if self.session.get("match_params") else 0
        sizes = dict(plan(cells, config, vocab_size, bool(self.session.get("match_params"))))
        base = self.session.get("name") or default_name(corpus, "compare")
        for cell in cells:
            if self.stop_reason is not None:
                break
            trainer = self._train(corpus, {**self.overrides, **sizes[cell]}, f"{base}-{cell}")
            snapshot = trainer.latest_snapshot if trainer is not None else None
            val = self.prepared.corpus.val
            if snapshot is not None and val.numel() >= 3:
                flow = gradient_flow_for(snapshot.config, snapshot.vocab, snapshot.weights, val[:101].long(), with_initial=False)
                self.app.post_message(CompareMeasured(cell, decay(flow, min(50, len(flow.distance) - 1))))
        self.app.post_message(CompareMeasured(None, None))

    def _load_progress(self, done: int, total: int) -> None:
        if total >= 64 << 20 and done * 10 // total != getattr(self, "_load_tenth", -1):
            self._load_tenth = done * 10 // total
            from rnn_tui.core.events import Notice

            self._sink(Notice("info", f"reading the corpus: {done / total:.0%} of {total // 2 / 1e6:,.0f} MB"))

    def send(self, command) -> None:
        self.commands.put(command)

    def stop(self, reason: str = "stopped") -> None:
        self.stop_reason = reason
        if self.trainer is not None:
            self.trainer.request_stop(reason)

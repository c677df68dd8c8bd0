"""One way to start, compare and stop runs, whatever face shows them.

The command line turns its options into one ``RunRequest`` (checked up front, before a screen
opens or torch loads); a face hands it to an ``Orchestrator`` with a sink for events and calls
``stop(reason)`` when the user leaves. The orchestrator owns everything between: the default
corpus, prepare → Trainer → lock release, the compare loop and its gradient measurement, and the
stop reasons, so the headless lines and the app can no longer disagree about any of them.
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rnn_tui.core import events as ev

if TYPE_CHECKING:
    from rnn_tui.core.trainer import Trainer

LOAD_PROGRESS_BYTES = 64 << 20  # corpora at least this large report their loading
RUN_OPTIONS = ("resume", "allow_corpus_change", "name", "runs_dir", "compare", "match_params")
BUDGET_OPTIONS = ("max_steps", "max_time", "epochs")
COMPARE_DEFAULT_SECONDS = 300.0


def signal_reason(signum: int) -> str:
    """The stop reason for a signal, the same in every face: ``signal SIGTERM``."""
    try:
        return f"signal {signal.Signals(signum).name}"
    except ValueError:
        return f"signal {signum}"


@dataclass(frozen=True)
class RunRequest:
    """What the user asked for: a new run, a resume, or a comparison of cells."""

    corpus: str | None = None
    overrides: dict = field(default_factory=dict)  # TrainConfig fields the user gave explicitly
    name: str | None = None
    runs_dir: str | None = None
    resume: str | None = None
    allow_corpus_change: bool = False
    compare: tuple[str, ...] = ()
    match_params: bool = False
    demo: str | None = None  # a core.demos name: its corpus, its defaults already in overrides

    @classmethod
    def from_options(cls, options: dict) -> RunRequest:
        """Parsed command-line options (only those given) → a request; option conflicts refused here."""
        from rnn_tui.core.errors import ConfigError

        options = dict(options)
        corpus = options.pop("corpus", None)
        demo = options.pop("demo", None)
        run = {k: options.pop(k) for k in RUN_OPTIONS if k in options}
        if run.get("resume") is not None and not str(run["resume"]).strip():  # `--resume "$RUN"` with RUN unset
            raise ConfigError("--resume is empty; give the run's name (see `rnn-tui runs`) or `last`")
        if demo is not None:
            from rnn_tui.core.demos import get

            if corpus is not None:
                raise ConfigError(f"--demo and a corpus file: pick one (--demo {demo} trains on its own text)")
            if run.get("resume"):
                raise ConfigError("--demo and --resume: pick one (a resumed run keeps its own corpus and settings)")
            options = {**get(demo).defaults, **options}  # the user's explicit options win
        if run.get("resume") and run.get("name"):
            raise ConfigError(
                f"--resume {run['resume']} continues that run under its own name; drop --name "
                "(to train a copy under another name, copy the run folder)"
            )
        compare: tuple[str, ...] = ()
        if "compare" in run:
            from rnn_tui.core.compare import parse_cells

            compare = tuple(parse_cells(run["compare"]))
            if run.get("resume"):
                raise ConfigError("--compare starts new runs; resume a compared run by its own name instead")
            if not any(k in options for k in BUDGET_OPTIONS):
                options["max_time"] = COMPARE_DEFAULT_SECONDS  # a fair comparison needs a budget
        elif run.get("match_params"):
            raise ConfigError("--match-params only makes sense with --compare")
        return cls(
            corpus=corpus,
            overrides=options,
            name=run.get("name"),
            runs_dir=run.get("runs_dir"),
            resume=run.get("resume"),
            allow_corpus_change=bool(run.get("allow_corpus_change")),
            compare=compare,
            match_params=bool(run.get("match_params")),
            demo=demo,
        )

    def corpus_path(self) -> str | None:
        """The corpus to read: the one given, a demo's, the bundled demo for a new run, or (None) the resumed
        run's own."""
        if self.demo is not None:
            from rnn_tui.core.demos import demo_path

            return str(demo_path(self.demo))  # the python demo is built here on first use
        if self.corpus is not None or self.resume:
            return self.corpus
        from rnn_tui.core.session import demo_corpus_path

        return demo_corpus_path()

    def check(self) -> None:
        """Everything that can be refused without reading the corpus: options, the corpus file, new names."""
        from pathlib import Path

        from rnn_tui.core.config import TrainConfig
        from rnn_tui.core.paths import check_regular_file

        TrainConfig().with_changes(**self.overrides).validated()
        if self.demo is not None:
            from rnn_tui.core.demos import get

            get(self.demo)
        if self.corpus is not None:
            if not self.corpus.strip():  # `rnn-tui "$FILE"` with FILE unset: not the current folder
                from rnn_tui.core.errors import CorpusError

                raise CorpusError("the corpus path is empty; pass the path of a text file to train on")
            check_regular_file(Path(self.corpus))
        if self.compare and self.name:
            from rnn_tui.core.paths import check_new_run_names, runs_dir

            check_new_run_names(runs_dir(self.runs_dir), [f"{self.name}-{cell}" for cell in self.compare])


class Orchestrator:
    """Runs a request on the calling thread and sends every event to ``sink``.

    ``stop`` may be called from any thread or a signal handler, at any stage: while the corpus
    loads, between compared runs or mid-training; the run in progress saves and the rest never start.
    """

    def __init__(
        self, request: RunRequest, sink, report_interval: float = 0.5, commands=None, distributed=None, progress=None
    ) -> None:
        self.request = request
        self.sink = sink
        self.report_interval = report_interval
        self.commands = commands
        self.distributed = distributed
        self.progress = progress
        self.stop_event = threading.Event()
        self.stop_reason = "stopped"
        self.stop_signal: int | None = None
        self.trainer: Trainer | None = None
        self.prepared = None
        self.results: list = []  # each run's Finished or Failed, in order
        self.run_dirs: list[str] = []
        self.compare = None
        if request.compare:
            from rnn_tui.core.compare import CompareCollector

            self.compare = CompareCollector()

    def stop(self, reason: str = "stopped", signum: int | None = None) -> None:
        """``signum``: the signal that asked, so a stop while the corpus loads exits as that signal."""
        self.stop_reason = reason
        self.stop_signal = int(signum) if signum else None
        self.stop_event.set()
        trainer = self.trainer
        if trainer is not None:
            trainer.request_stop(reason)

    @property
    def stopping(self) -> bool:
        return self.stop_event.is_set()

    def run(self) -> list:
        if self.request.compare:
            self._compare()
        else:
            self._train(self.request.overrides, self.request.name)
        return self.results

    # ---- one run -----------------------------------------------------------------
    def _train(self, overrides: dict, name: str | None):
        from rnn_tui.core.trainer import Trainer

        self.prepared = p = self._prepare(overrides, name)
        if p is None:
            return None
        try:
            if self.stopping:
                return None
            self.run_dirs.append(str(p.run.path))
            trainer = self.trainer = Trainer(
                p.config,
                p.corpus,
                p.run,
                resume=p.resume,
                notes=tuple(p.notes),
                report_interval=self.report_interval,
                distributed=self.distributed,
            )
            if self.stopping:  # asked between the check above and the trainer existing
                trainer.request_stop(self.stop_reason)
            result = trainer.run(self._sink, self.commands)
            self.results.append(result)
            return trainer
        finally:
            p.lock.release()

    def _prepare(self, overrides: dict, name: str | None):
        from rnn_tui.core.session import prepare

        r, d = self.request, self.distributed
        common: dict[str, Any] = dict(
            runs_dir=r.runs_dir,
            resume=r.resume,
            allow_corpus_change=r.allow_corpus_change,
            progress=self._load_progress,
            should_stop=self._load_should_stop,
        )
        corpus = r.corpus_path()
        if name is None and r.demo and not r.resume:  # a demo's runs are named after it, not its file
            from rnn_tui.core.runs import default_name

            name = default_name(r.demo, overrides.get("cell", "lstm"))
        if d is None:
            return prepare(corpus, overrides, name=name, **common)
        # torchrun: rank 0 makes (or reopens) the run folder; the other ranks then read the same run.
        from rnn_tui.core.config import TrainConfig
        from rnn_tui.core.runs import default_name

        d.rows(overrides.get("batch_size", TrainConfig.batch_size))  # refuse an uneven split up front
        name = name or (None if r.resume else default_name(corpus, overrides.get("cell", "lstm")))
        name = d.broadcast(name)
        prepared = prepare(corpus, overrides, name=name, **common) if d.is_main else None
        d.barrier()
        if not d.is_main:
            prepared = prepare(corpus, overrides, name=name, main=False, **common)
        return prepared

    def _load_should_stop(self):
        """Asked between corpus chunks: the signal number (or True) once a stop was asked."""
        return (self.stop_signal or True) if self.stopping else None

    def _sink(self, event) -> None:
        if self.compare is not None:
            self.compare.handle(event)
        self.sink(event)

    def _load_progress(self, done: int, total: int) -> None:
        if self.progress is not None and total >= LOAD_PROGRESS_BYTES:
            self.progress(done, total)

    # ---- several cells ---------------------------------------------------------------
    def _compare(self) -> None:
        from rnn_tui.core.compare import plan
        from rnn_tui.core.config import TrainConfig
        from rnn_tui.core.errors import ConfigError
        from rnn_tui.core.runs import default_name

        r = self.request
        if self.distributed is not None:
            raise ConfigError("--compare runs one process; start it without torchrun")
        corpus = r.corpus_path()
        config = TrainConfig().with_changes(**r.overrides).validated()
        vocab_size = 0
        if r.match_params:
            from rnn_tui.core.corpus import load_corpus

            assert corpus is not None, "a comparison always has a text"
            vocab_size = len(load_corpus(corpus, encoding=config.encoding).vocab)
        sizes = dict(plan(list(r.compare), config, vocab_size, r.match_params))
        base = r.name or default_name(r.demo or corpus, "compare")
        for index, cell in enumerate(r.compare):
            if self.stopping:
                break
            self.sink(ev.CompareStarted(index, len(r.compare), cell))
            trainer = self._train({**r.overrides, **sizes[cell]}, f"{base}-{cell}")
            snapshot = trainer.latest_snapshot if trainer is not None else None
            val = self.prepared.corpus.val if self.prepared is not None else None
            if snapshot is not None and val is not None and val.numel() >= 3 and self.compare is not None:
                self.compare.measure_decay(snapshot, val[:101].long())
                self.sink(ev.CompareMeasured(cell, self.compare.current.decay_50))
        self.sink(ev.CompareMeasured(None, None))

"""What a viewer that attaches late is sent first: the run as it stands, kept as the events go by."""

from __future__ import annotations

import dataclasses

from rnn_tui.core import events as ev
from rnn_tui.core import wire

MAX_CURVE_POINTS = 4000  # a compared run's curve kept for late viewers (halved beyond this)


class Replay:
    """What a late viewer needs to draw the run as it stands, kept as the events go by.

    One run: its Started (with ``start_step`` moved to the newest report, so the dashboard reads
    the history up to there from metrics.jsonl, as for a resumed run) and the newest report,
    validation, sample, save, state and weights, and the learning-rate changes metrics.jsonl does
    not hold yet. Compared runs also keep each finished run's curve, validations and result, so a
    late viewer's comparison is whole.
    """

    def __init__(self, compare: bool = False) -> None:
        self.compare = compare
        self.past: list[object] = []
        self._reset()

    def _reset(self) -> None:
        self.compare_started: ev.CompareStarted | None = None
        self.started: ev.Started | None = None
        self.progress: ev.Progress | None = None
        self.sample: ev.Sample | None = None
        self.saved: ev.Saved | None = None
        self.snapshot: ev.Snapshot | None = None
        self.paused: ev.StateChanged | None = None
        self.end: ev.Finished | ev.Failed | None = None
        self.run_text: wire.RunText | None = None
        self.curve: list[tuple[int, float]] = []
        self.evals: list[ev.EvalResult] = []
        self.measured: list[ev.CompareMeasured] = []
        self.lr_changes: list[ev.LearningRateChanged] = []  # those past the newest report (metrics.jsonl has the rest)

    def record(self, event: object) -> None:
        if isinstance(event, ev.CompareStarted):
            self.past += self._current(condensed=True)
            self._reset()
            self.compare_started = event
        elif isinstance(event, ev.Started):
            if self.started is not None and not self.compare:
                self._reset()
            self.started = event
        elif isinstance(event, ev.Progress):
            if self.compare:
                self.curve.extend(event.losses)
                while len(self.curve) > MAX_CURVE_POINTS:
                    self.curve = self.curve[::2]
            self.progress = event
            self.lr_changes = [e for e in self.lr_changes if e.step > event.step]
        elif isinstance(event, ev.EvalResult):
            self.evals = (self.evals + [event]) if self.compare else [event]
        elif isinstance(event, ev.Sample):
            self.sample = event
        elif isinstance(event, ev.Saved):
            self.saved = event
        elif isinstance(event, ev.Snapshot):
            self.snapshot = event
        elif isinstance(event, ev.StateChanged):
            self.paused = event if event.state == "paused" else None
        elif isinstance(event, (ev.Finished, ev.Failed)):
            self.end = event
            self.paused = None
        elif isinstance(event, ev.LearningRateChanged):
            self.lr_changes.append(event)
        elif isinstance(event, ev.CompareMeasured):
            self.measured.append(event)
        elif isinstance(event, wire.RunText):
            self.run_text = event

    def _current(self, condensed: bool = False) -> list[object]:
        out: list[object] = [e for e in (self.compare_started,) if e is not None]
        if self.started is not None:
            started, progress = self.started, self.progress
            if self.compare and progress is not None:
                progress = dataclasses.replace(progress, losses=tuple(self.curve))
            elif progress is not None and progress.step > started.start_step:
                started = dataclasses.replace(started, start_step=progress.step)
            out.append(started)
            if self.run_text is not None and not condensed:
                out.append(self.run_text)
            out += self.evals
            if progress is not None:
                out.append(progress)
            if not condensed:
                out += self.lr_changes
                out += [e for e in (self.sample, self.saved, self.paused, self.snapshot) if e is not None]
        out += [e for e in (self.end,) if e is not None]
        return out + list(self.measured)

    def events(self) -> list[object]:
        return self.past + self._current()

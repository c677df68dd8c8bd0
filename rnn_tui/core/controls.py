"""What a face can ask of a training run between steps: pause, resume, step, stop, save, a snapshot,
the live samples' temperature and the learning rate (the playground's controls).

A part of ``Trainer`` (a mixin): the trainer's loop calls ``_handle_commands`` before every step,
on the training thread, so only that thread ever touches the model and optimizer.
"""

from __future__ import annotations

import math
import queue
import time
from typing import TYPE_CHECKING

from rnn_tui.core import commands as cmd
from rnn_tui.core import events as ev

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable

    from rnn_tui.core.config import TrainConfig
    from rnn_tui.core.distributed import Distributed

MAX_LR = 10.0  # the user's x2 keeps the rate within what --lr accepts (core.config)
MIN_LR = 1e-9  # and /2 stops here: below it nothing trains, and halving on would reach 0


class Controls:
    if TYPE_CHECKING:  # what this part uses of the rest of Trainer (declared for the type checker only)
        commands: queue.Queue
        config: TrainConfig
        dist: Distributed | None
        is_main: bool
        in_loop: bool
        step: int
        paused: bool
        steps_to_take: int
        pause_when_stepped: bool
        report_clock: float
        report_step: int
        last_sample: float
        sample_temperature: float
        user_lr_scale: float
        lr_change: float | None
        stop_requested: threading.Event
        sink: Callable[[object], None]

        def _flush(self, now: float, sync: bool = False) -> None: ...
        def request_stop(self, reason: str = "stopped") -> None: ...
        def save(self, kind: str, reason: str) -> str | None: ...
        def snapshot(self) -> ev.Snapshot: ...
        def live_sample(self, snap: ev.Snapshot) -> None: ...
        def lr_at(self, step: int) -> float: ...

    def _handle_commands(self) -> None:
        """Take the queued commands; while paused (and not stepping) wait here for the next one."""
        while True:
            waiting = self.paused and not self.steps_to_take
            try:
                command = self.commands.get(timeout=0.2) if waiting else self.commands.get_nowait()
            except queue.Empty:
                if not waiting or self.stop_requested.is_set():
                    return
                continue
            if isinstance(command, cmd.Pause):
                if not self.paused:
                    self.paused = True
                    if self.in_loop:
                        self._flush(time.monotonic())  # paused at step N: the screens show N, not a step before
                    self.sink(ev.StateChanged("paused"))
                elif self.steps_to_take:  # a long Step cut short: what it trained is shown now
                    self.steps_to_take = 0
                    self._report_steps()
            elif isinstance(command, cmd.Resume) and self.paused:
                announced = not self.pause_when_stepped
                self.paused, self.steps_to_take, self.pause_when_stepped = False, 0, False
                if announced:
                    self.sink(ev.StateChanged("running"))
                self.report_clock = time.monotonic()
                self.report_step = self.step
                return
            elif isinstance(command, cmd.Stop):
                self.request_stop(command.reason)
                return
            elif isinstance(command, cmd.Save):
                self.save("latest", "request")
            elif isinstance(command, cmd.RequestSnapshot):
                self.sink(self.snapshot())
            elif isinstance(command, cmd.SetSampleTemperature):
                self.sample_temperature = command.temperature
            elif isinstance(command, cmd.ScaleLearningRate):
                self._scale_learning_rate(command.factor)
            elif isinstance(command, cmd.Step) and self._take_step(command.count):
                return

    def _take_step(self, count) -> bool:
        """Start a Step of ``count`` steps; False when refused. Steps asked for while stepping add up."""
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            self.sink(ev.Notice("warning", f"step count {count!r} ignored: it must be a whole number of 1 or more"))
            return False
        if self.dist is not None:
            self.sink(ev.Notice("warning", "stepping is not possible under torchrun: every rank would have to agree"))
            return False
        if not self.paused:
            self.paused = self.pause_when_stepped = True
        elif not self.steps_to_take:  # chars/s of these steps, not of the pause before them
            self.report_clock, self.report_step = time.monotonic(), self.step
        self.steps_to_take += count
        return True

    def _report_steps(self) -> None:
        """A Step's steps shown at once, not at the next report: losses, weights, and a live sample."""
        self._flush(time.monotonic())
        if self.is_main:
            snap = self.snapshot()
            self.sink(snap)
            if self.config.sample_every:
                self.last_sample = time.monotonic()
                self.live_sample(snap)
        if self.pause_when_stepped:
            self.pause_when_stepped = False
            self.sink(ev.StateChanged("paused"))

    def _scale_learning_rate(self, factor) -> None:
        """Multiply the rate of every later step by ``factor``, kept within what --lr accepts."""
        if not isinstance(factor, (int, float)) or isinstance(factor, bool) or not math.isfinite(factor) or factor <= 0:
            self.sink(ev.Notice("warning", f"learning rate factor {factor!r} ignored: it must be a number above 0"))
            return
        if self.dist is not None:
            self.sink(
                ev.Notice("warning", "the learning rate cannot change under torchrun: only rank 0 would change it")
            )
            return
        base, scale = self.config.lr, self.user_lr_scale * factor
        low, high = min(MIN_LR, base), MAX_LR
        if not low <= base * scale <= high:
            limit, bound = (high, "the most --lr allows") if base * scale > high else (low, "the least it goes")
            if math.isclose(base * self.user_lr_scale, limit, rel_tol=1e-9):
                self.sink(ev.Notice("warning", f"the learning rate is already at {limit:g} ({bound}); unchanged"))
                return
            self.sink(
                ev.Notice("warning", f"learning rate x{factor:g} would pass {limit:g} ({bound}): set to {limit:g}")
            )
            scale = limit / base
        applied, self.user_lr_scale = scale / self.user_lr_scale, scale
        self.lr_change = applied * (self.lr_change or 1.0)
        self.sink(ev.LearningRateChanged(self.step + 1, self.lr_at(self.step), applied, scale))

"""The NaN guard: a step whose loss or gradient is not finite is skipped; two in a row roll the
weights back to the last good ones with half the learning rate; after MAX_ROLLBACKS it stops.

On a CPU each step is checked at once (``_checked_step``). On a GPU that check would make every step
wait for the device, so the check stays there (``_deferred_step``: fused AdamW skips its own update)
and the flags come back with the losses at each report (``_settle``). A part of ``Trainer`` (a mixin).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import torch

from rnn_tui.core import events as ev
from rnn_tui.core.model import detach_state, map_state

if TYPE_CHECKING:
    from collections.abc import Callable

    from rnn_tui.core.config import TrainConfig
    from rnn_tui.core.distributed import Distributed
    from rnn_tui.core.model import CharRNN
    from rnn_tui.core.reporting import MetricsLog
    from rnn_tui.core.threads import ThreadTuner

MAX_ROLLBACKS = 3


class FiniteGuard:
    if TYPE_CHECKING:  # what this part uses of the rest of Trainer (declared for the type checker only)
        config: TrainConfig
        dist: Distributed | None
        step: int
        state: Any
        good: tuple[dict, dict] | None
        model: CharRNN
        optimizer: torch.optim.AdamW
        scaler: torch.amp.GradScaler
        tuner: ThreadTuner | None
        metrics: MetricsLog
        pending_losses: list[tuple]
        bad_run: int
        skipped: int
        rollbacks: int
        rollback_due: bool
        lr_scale: float
        user_lr_scale: float
        lr_change: float | None
        sink: Callable[[object], None]

        def _flush(self, now: float, sync: bool = False) -> None: ...
        def _fail(self, message: str, advice: str, log: str | None = None) -> ev.Failed: ...
        def _open_row(self, lr: float, norm: Any) -> None: ...
        def _tune_threads(self, seconds: float) -> None: ...
        def lr_at(self, step: int) -> float: ...

    def _checked_step(self, loss, norm, new_state, lr: float, step_started: float) -> str:
        """Check the step at once (one wait for the device): "stepped", "skipped" or "diverged"."""
        c = self.config
        # Under DDP the averaged gradient (so its norm) is the same on every rank: a NaN anywhere is NaN everywhere.
        finite = bool(torch.isfinite(norm) if self.dist is not None else torch.isfinite(loss) & torch.isfinite(norm))
        scaling = self.scaler.is_enabled()
        if scaling:  # the scaler skips the step itself when it found inf, and adapts the scale
            self.scaler.step(self.optimizer)
            self.scaler.update()
        elif finite:
            self.optimizer.step()
        if finite:
            if self.tuner is not None:
                self._tune_threads(time.perf_counter() - step_started)
            self.bad_run = 0
            self.state = detach_state(new_state)
            self.step += 1
            self.pending_losses.append((self.step, loss.detach()))
            if self.step % c.log_every == 0 or self.lr_change is not None:
                self._open_row(lr, float(norm))
            return "stepped"
        self.skipped += 1
        self.bad_run += 1
        self.sink(
            ev.Notice(
                "warning", f"step {self.step + 1}: loss or gradient is not finite; step skipped ({self.skipped} so far)"
            )
        )
        if self.bad_run >= 2:
            if not self._roll_back():
                return "diverged"
            self.bad_run = 0
            self.state = None
        return "skipped"

    def _deferred_step(self, loss, norm, new_state, lr: float) -> None:
        """The step without waiting for the device: the update is skipped there when the loss or the
        gradient is not finite, the state kept; ``_flush`` reads the flags back and counts the skips."""
        bad = ~(torch.isfinite(loss) & torch.isfinite(norm))
        # fused AdamW: no update (and no step count) where this is 1
        self.optimizer.found_inf = bad.float()  # type: ignore[attr-defined]
        self.optimizer.step()
        new_state = detach_state(new_state)
        old = self.state if self.state is not None else map_state(new_state, torch.zeros_like)
        if isinstance(new_state, tuple):
            self.state = tuple(torch.where(bad, o, n) for o, n in zip(old, new_state))
        else:
            self.state = torch.where(bad, old, new_state)
        self.step += 1
        self.pending_losses.append((self.step, loss.detach(), bad))
        if self.step % self.config.log_every == 0 or self.lr_change is not None:
            self._open_row(lr, norm.detach())

    def _diverged(self) -> ev.Failed:
        c = self.config
        self._flush(time.monotonic())
        return self._fail(
            f"training diverged: the loss kept going NaN/Inf after {MAX_ROLLBACKS} rollbacks",
            f"lower --lr (it is {c.lr * self.user_lr_scale:g}) or --grad-clip, or use --precision fp32, then resume",
        )

    def _settle(self, pending: list) -> tuple[tuple[int, float], ...]:
        """The pending steps' losses as numbers, read in one transfer; steps found not finite (deferred
        checks) are dropped from the losses and the log, counted as skipped, and may call a rollback."""
        if not pending:
            return ()
        values = torch.stack([item[1].float() for item in pending])
        if len(pending[0]) == 2:
            return tuple((item[0], v) for item, v in zip(pending, values.tolist()))
        n = len(pending)
        numbers = torch.cat([values, torch.stack([item[2] for item in pending]).float()]).tolist()
        losses, bad_steps = [], []
        for (step, *_), value, bad in zip(pending, numbers[:n], numbers[n:]):
            if bad:
                bad_steps.append(step)
                row = self.metrics.pending.pop(step, None)
                if row is not None and "lr_change" in row:  # the mark stays, without the skipped step's numbers
                    self.metrics.pending[step] = {k: row[k] for k in ("step", "lr", "elapsed", "lr_change")}
                self.bad_run += 1
                self.rollback_due = self.rollback_due or self.bad_run >= 2
            else:
                losses.append((step, value))
                self.bad_run = 0
        if bad_steps:
            self.skipped += len(bad_steps)
            which = f"step {bad_steps[0]}" if len(bad_steps) == 1 else f"{len(bad_steps)} steps from {bad_steps[0]}"
            self.sink(ev.Notice("warning", f"{which}: loss or gradient is not finite; skipped ({self.skipped} so far)"))
        return tuple(losses)

    def _roll_back_if_due(self) -> bool:
        """Deferred checks: roll back when a report found steps in a row not finite; False if none is left."""
        if not self.rollback_due:
            return True
        self.rollback_due = False
        if not self._roll_back():
            return False
        self.state = None
        return True

    def _roll_back(self) -> bool:
        if self.rollbacks >= MAX_ROLLBACKS or self.good is None:
            return False
        self.model.load_state_dict(self.good[0])
        self.optimizer.load_state_dict(clone_tree(self.good[1]))
        self.rollbacks += 1
        self.bad_run = 0
        self.lr_scale *= 0.5
        self.sink(
            ev.Notice(
                "warning",
                f"loss went NaN/Inf twice: rolled back to the last good weights and halved the "
                f"learning rate (now {self.lr_at(self.step):.3g}; rollback {self.rollbacks}/{MAX_ROLLBACKS})",
            )
        )
        return True


def clone_tree(obj):
    if isinstance(obj, torch.Tensor):
        return obj.detach().clone()
    if isinstance(obj, dict):
        return {k: clone_tree(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [clone_tree(v) for v in obj]
    return obj

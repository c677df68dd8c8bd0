"""The training loop: truncated BPTT, evaluation, clipping, NaN guard, saves.

Only the thread that calls ``Trainer.run`` touches the model and optimizer.
Faces talk to it through a ``queue.Queue`` of commands (handled between
steps) and listen through ``sink(event)``. Reports are batched by time: losses
stay on the device until a report is due, so reporting never costs a GPU sync
per step. The one per-step sync is the finite check of loss and gradient norm,
which decides whether the step is applied (as torch's GradScaler does).
"""

from __future__ import annotations

import math
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from rnn_tui.core import checkpoint
from rnn_tui.core import events as ev
from rnn_tui.core.batches import Streams, learning_rate, validation_streams
from rnn_tui.core.checkpoint import peek_checkpoint, remove_stale_temps, save_checkpoint
from rnn_tui.core.config import SampleConfig, TrainConfig
from rnn_tui.core.controls import Controls
from rnn_tui.core.corpus import Corpus
from rnn_tui.core.device import (
    describe,
    memory,
    precision_name,
    resolve,
    resolve_precision,
)
from rnn_tui.core.guard import FiniteGuard, clone_tree
from rnn_tui.core.model import (
    CharRNN,
    build_from_weights,
    count_parameters,
    state_from_list,
    state_to_list,
)
from rnn_tui.core.reporting import MetricsLog
from rnn_tui.core.runs import Run
from rnn_tui.core.sampling import generate
from rnn_tui.core.threads import IdleCores, ThreadTuner, available_cores

SAVE_RETRY_S = 30.0  # after a failed save (a full disk) saving pauses this long, doubling up to SAVE_RETRY_MAX_S
SAVE_RETRY_MAX_S = 600.0


class Trainer(Controls, FiniteGuard):
    """One run's training; its controls (core.controls) and NaN guard (core.guard) are parts of it."""

    def __init__(
        self,
        config: TrainConfig,
        corpus: Corpus,
        run: Run,
        resume: dict | None = None,
        report_interval: float = 0.25,
        notes: tuple[str, ...] = (),
        distributed=None,
    ):
        self.config = config.validated()
        self.corpus = corpus
        self.run_ = run
        self.resume_state = resume
        self.report_interval = report_interval
        self.notes = notes
        self.dist = distributed  # a core.distributed.Distributed under torchrun, else None
        self.is_main = distributed is None or distributed.is_main
        self.stop_requested = threading.Event()
        self.running = False  # run() has begun
        self.finished = threading.Event()  # set when run() returns, however it ends
        self.stop_reason = "stopped"
        self.latest_snapshot: ev.Snapshot | None = None
        self.sample_temperature = config.sample_temperature
        # Seams for tests: replace to inject failures into a step or a save.
        self.step_hook: Callable[[int], None] | None = None
        # None: decide by device (on for CUDA). True forces the GPU's no-wait step on any device (tests).
        self.defer_checks: bool | None = None
        self.good = None
        self.ready = False  # set once the model is built and any resume restored: only then may it be saved
        self.save_failures = 0
        self.saves_paused_until = 0.0
        self.temps_cleaned = False
        self.saved_step: int | None = None  # the step latest.pt holds, as far as this process knows
        self.pending_losses: list[tuple[int, torch.Tensor]] = []
        self.metrics = MetricsLog(run, lambda event: self.sink(event), writes=self.is_main)
        self.sink: Callable[[object], None] = lambda event: None  # the face's, once run() starts
        self.device = torch.device("cpu")  # the real one is picked by _setup, on the training thread
        self.step = 0
        self.norm = torch.zeros(())
        self.in_loop = False
        self.user_lr_scale = 1.0  # the user's x2 and /2 (ScaleLearningRate), apart from the NaN guard's lr_scale
        self.lr_change: float | None = None  # a scale not yet trained with: marks the next logged row
        self.paused = False
        self.steps_to_take = 0  # steps a Step still asks for; the trainer pauses again after them
        self.pause_when_stepped = False  # a Step came while running: StateChanged("paused") once its steps are done
        self.last_sample = 0.0
        # The run's counters (restored by a resume) and the loop's clocks: set again by _setup and run().
        self.state = None  # the recurrent state carried from chunk to chunk (None: a blank one)
        self.best_val: float | None = None
        self.lr_scale = 1.0  # halved by each NaN rollback
        self.rollbacks = 0
        self.skipped = 0
        self.prior_elapsed = 0.0
        self.bad_run = 0  # steps in a row found not finite
        self.rollback_due = False
        self.t_start = self.last_save = self.report_clock = time.monotonic()
        self.report_step = 0
        self.commands: queue.Queue = queue.Queue()
        # Built by _setup on the training thread (torch objects), declared here so the class reads whole.
        self.tuner: ThreadTuner | None = None
        self.amp_dtype: torch.dtype | None = None
        self.model: CharRNN
        self.net: Callable[..., Any]  # the model, or DDP / torch.compile around it
        self.optimizer: torch.optim.AdamW
        self.scaler: torch.amp.GradScaler
        self.train_streams: Streams
        self.val_streams: Streams | None

    def request_stop(self, reason: str = "stopped") -> None:
        """Thread- and signal-safe: the loop saves and returns at the next step."""
        self.stop_reason = reason
        self.stop_requested.set()

    # ---- setup -------------------------------------------------------
    def _setup(self) -> None:
        c = self.config
        if c.threads:
            torch.set_num_threads(c.threads)
        if self.dist is not None:
            self.device, note = self.dist.device(c.device), None
        else:
            self.device, note = resolve(c.device)
        self.tuner = None  # picks the CPU thread count by measured step time when --threads is not pinned
        if not c.threads and self.device.type == "cpu" and self.dist is None:
            self.tuner = ThreadTuner(available_cores(), torch.set_num_threads, idle_cores=IdleCores())
        self.amp_dtype = resolve_precision(c.precision, self.device)
        self.notes = self.notes + ((note,) if note else ())
        torch.manual_seed(c.seed)
        self.model = CharRNN.from_config(c, len(self.corpus.vocab)).to(self.device)
        self.net = self.model  # what the training step calls: the model, or DDP around it
        if self.dist is not None:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.net = DistributedDataParallel(self.model, device_ids=ids)
        if c.compile:
            self.net = torch.compile(self.net)
        # On a GPU the step never waits for the device: whether its loss and gradient were finite is decided
        # there (fused AdamW skips its own update when told so by a device flag) and read back once per report.
        # Elsewhere (and with fp16's scaler or under DDP, which decide on their own) each step is checked at once.
        wanted = self.device.type == "cuda" if self.defer_checks is None else self.defer_checks
        self.defer_checks = wanted and self.dist is None and self.amp_dtype != torch.float16
        fused = True if self.device.type == "cuda" or self.defer_checks else None
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=c.lr, weight_decay=c.weight_decay, fused=fused)
        self.bad_run = 0  # steps in a row found not finite (deferred checks)
        self.rollback_due = False
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp_dtype == torch.float16)
        self.train_streams = Streams(self.corpus.train, c.batch_size, c.seq_len, self.device)
        if self.dist is not None:  # this rank's share of the parallel streams
            self.train_streams.streams = self.train_streams.streams[self.dist.rows(c.batch_size)]
        self.val_streams = validation_streams(self.corpus.val, c.batch_size, c.seq_len, self.device, c.eval_chars)
        self.step = 0
        self.state = None
        self.best_val = None
        self.lr_scale = 1.0
        self.user_lr_scale = 1.0
        self.rollbacks = 0
        self.skipped = 0
        self.prior_elapsed = 0.0
        if self.resume_state is not None:
            self._restore(self.resume_state)
            if self.is_main:  # only now is the resume certain: drop the rows logged after its step
                self.run_.truncate_metrics(self.step)
        on_disk = peek_checkpoint(self.run_.checkpoint("best"))  # every rank: they must agree on what is best
        if (
            on_disk is not None
            and on_disk["best_val_loss"] is not None
            and (self.best_val is None or on_disk["best_val_loss"] < self.best_val)
        ):
            self.best_val = on_disk["best_val_loss"]  # best.pt only ever gets better, across resumes too
        if self.dist is not None and self.dist.rank:
            torch.manual_seed(c.seed + 7919 * self.dist.rank + self.step)  # different dropout masks per rank
        self.ready = True

    def _restore(self, s: dict) -> None:
        self.model.load_state_dict(s["model"])
        if s.get("optimizer"):
            self.optimizer.load_state_dict(s["optimizer"])
        counts = checkpoint.counters(s)
        self.step = counts["step"]
        self.state = self._carried_state(s.get("hidden"))
        if self.dist is not None and self.state is not None:
            rows = self.dist.rows(self.config.batch_size)
            self.state = tuple(t[:, rows] for t in self.state) if isinstance(self.state, tuple) else self.state[:, rows]
        self.best_val = counts["best_val_loss"]
        self.lr_scale = counts["lr_scale"]
        self.user_lr_scale = counts["user_lr_scale"]
        if self.user_lr_scale != 1.0:
            self.notes = (*self.notes, f"the learning rate keeps the x{self.user_lr_scale:g} set while it trained")
        self.rollbacks = counts["rollbacks"]
        self.skipped = counts["skipped_steps"]
        self.prior_elapsed = counts["elapsed"]
        rng = s.get("rng") or {}
        if isinstance(rng.get("torch"), torch.Tensor):
            try:
                torch.set_rng_state(rng["torch"])
            except (RuntimeError, TypeError):  # a damaged generator state: dropout draws from a fresh one
                self.notes = (*self.notes, "the checkpoint's random state is damaged; dropout starts a fresh one")
        if self.device.type == "cuda" and rng.get("cuda"):
            try:
                torch.cuda.set_rng_state(rng["cuda"][0], self.device)
            except (RuntimeError, IndexError):
                pass

    def _carried_state(self, items):
        """The saved hidden state of every stream, or None (with a note) when it does not fit the
        streams now (a changed --batch-size): they then start from a blank state."""
        if not items:
            return None
        c = self.config
        shape = (c.layers, c.batch_size, c.hidden_size)
        if not (
            isinstance(items, (list, tuple))
            and len(items) == (2 if c.cell == "lstm" else 1)
            and all(isinstance(t, torch.Tensor) and tuple(t.shape) == shape for t in items)
        ):
            note = (
                "the saved hidden state does not fit the streams (was --batch-size changed?); they start from a "
                "blank state"
            )
            self.notes = (*self.notes, note)
            return None
        return state_from_list(list(items), self.device)

    # ---- checkpoints ---------------------------------------------------
    def checkpoint_state(self) -> dict:
        rng: dict[str, object] = {"torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = [torch.cuda.get_rng_state(self.device)]
        return checkpoint.compose(
            config=self.config.to_dict(),
            vocab=self.corpus.vocab.chars,
            model=self.model.state_dict(),
            optimizer=self.optimizer.state_dict(),
            step=self.step,
            hidden=state_to_list(self._full_state()),
            rng=rng,
            corpus=self.corpus.summary(),
            best_val_loss=self.best_val,
            lr_scale=self.lr_scale,
            rollbacks=self.rollbacks,
            skipped_steps=self.skipped,
            elapsed=self.elapsed(),
            user_lr_scale=self.user_lr_scale,
        )

    def _full_state(self):
        """The carried hidden state of all streams (gathered from every rank under torchrun)."""
        if self.dist is None or self.state is None:
            return self.state
        if isinstance(self.state, tuple):
            return tuple(self.dist.gather_rows(t) for t in self.state)
        return self.dist.gather_rows(self.state)

    def save(self, kind: str, reason: str) -> str | None:
        """Write latest.pt or best.pt; under torchrun every rank calls this at the same step, rank 0 writes.

        Only a latest save restarts the autosave clock (best saves must not starve it). A failed save
        (a full disk) leaves the last good checkpoint as it was and pauses saving for a while; a
        request or the final save always tries. Returns the path written, or None.
        """
        if not self.ready:
            return None  # nothing restored yet (or the restore failed): never written over the run
        path = self.run_.checkpoint(kind)
        if kind == "latest":
            self.last_save = time.monotonic()
        state = self.checkpoint_state()
        if not self.is_main:
            return None
        if reason in ("autosave", "best") and time.monotonic() < self.saves_paused_until:
            return None
        if self.in_loop:
            self._flush(time.monotonic(), sync=True)  # the rows up to this step are on disk before the checkpoint
        try:
            written = save_checkpoint(state, path, keep_previous=kind == "latest", only_if_better=kind == "best")
        except (OSError, RuntimeError) as exc:  # RuntimeError: torch's writer on a failing file
            self._save_failed(path, exc, final=reason == "final")
            return None
        if self.save_failures:
            self.save_failures, self.saves_paused_until = 0, 0.0
            self.sink(ev.Notice("info", f"saving works again: {path.name} written at step {self.step}"))
        if kind == "latest":
            self.saved_step = self.step
        if kind == "latest" and not self.temps_cleaned:
            self.temps_cleaned = True  # the newest state is in latest.pt now: what a crash left is stale
            remove_stale_temps(self.run_.path)
        if not written:
            return None  # best.pt on disk is at least as good
        self.sink(ev.Saved(self.step, str(path), kind, reason))
        return str(path)

    def _save_failed(self, path, exc: Exception, final: bool = False) -> None:
        self.save_failures += 1
        delay = min(SAVE_RETRY_MAX_S, SAVE_RETRY_S * 2 ** (self.save_failures - 1))
        self.saves_paused_until = time.monotonic() + delay
        if self.config.save_every:
            self.last_save = self.saves_paused_until - self.config.save_every  # the next autosave is the retry
        why = (
            exc.strerror
            if isinstance(exc, OSError) and exc.strerror
            else (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
        )
        kept = f"latest.pt (step {self.saved_step})" if self.saved_step is not None else "the last good checkpoint"
        then = "" if final else f"; saving paused, next try in {delay:.0f} s"
        self.sink(
            ev.Notice(
                "warning",
                f"could not save {path.name} at step {self.step} ({why}); {kept} is untouched"
                f"{then} (free some space in {path.parent.parent})",
            )
        )

    # ---- helpers ---------------------------------------------------------
    def elapsed(self) -> float:
        return self.prior_elapsed + (time.monotonic() - self.t_start)

    def lr_at(self, step: int) -> float:
        c = self.config
        scale = self.lr_scale * self.user_lr_scale
        return learning_rate(step, c.lr, c.warmup_steps, c.lr_decay, self.train_streams.chunks_per_epoch, scale)

    def autocast(self):
        return torch.autocast(
            self.device.type, dtype=self.amp_dtype or torch.float32, enabled=self.amp_dtype is not None
        )

    def snapshot(self) -> ev.Snapshot:
        weights = {k: v.detach().to("cpu", torch.float32, copy=True) for k, v in self.model.state_dict().items()}
        snap = ev.Snapshot(self.step, self.config.to_dict(), self.corpus.vocab.chars, weights)
        self.latest_snapshot = snap
        return snap

    def _keep_good(self) -> None:
        self.good = (
            {k: v.detach().clone() for k, v in self.model.state_dict().items()},
            clone_tree(self.optimizer.state_dict()),
        )

    @torch.no_grad()
    def evaluate(self) -> float | None:
        vs = self.val_streams
        if vs is None:
            return None
        self.model.eval()
        total = torch.zeros((), device=self.device, dtype=torch.float64)
        count = 0
        state = None
        with self.autocast():
            for chunk in range(vs.chunks_per_epoch):
                if self.stop_requested.is_set():  # a long evaluation never holds up a stop
                    self.model.train()
                    return None
                x, y = vs.batch(chunk)
                logits, state = self.model(x, state)
                total += F.cross_entropy(
                    logits.reshape(-1, logits.size(-1)).float(), y.reshape(-1), reduction="sum"
                ).double()
                count += y.numel()
        self.model.train()
        return float(total) / count

    def live_sample(self, snap: ev.Snapshot) -> None:
        """A sample from a snapshot: built without random init and drawn from a private generator,
        so it never moves the training RNG (a resume stays exact however often it samples)."""
        model = build_from_weights(snap.config, snap.vocab, snap.weights)
        cfg = SampleConfig(
            prime="\n" if "\n" in self.corpus.vocab.index else self.corpus.vocab.chars[0],
            length=self.config.sample_length,
            temperature=self.sample_temperature,
            seed=self.config.seed + self.step,
        )
        text = "".join(t.char for t in generate(model, self.corpus.vocab, cfg))
        self.sink(ev.Sample(self.step, text, self.sample_temperature))

    # ---- the loop ----------------------------------------------------------
    def run(self, sink: Callable[[object], None], commands: queue.Queue | None = None) -> ev.Finished | ev.Failed:
        self.running = True
        try:
            return self._run(sink, commands)
        finally:
            self.finished.set()

    def _run(self, sink: Callable[[object], None], commands: queue.Queue | None) -> ev.Finished | ev.Failed:
        self.sink = sink if self.is_main else (lambda event: None)
        self.commands = commands if commands is not None else queue.Queue()
        self.t_start = time.monotonic()
        self.last_save = time.monotonic()
        try:
            self._setup()
            return self._loop()
        except torch.OutOfMemoryError:
            return self._fail(
                "out of memory on " + str(self.device or "the device"),
                "lower --batch-size or --hidden-size (or --seq-len) and resume",
            )
        except Exception as exc:  # noqa: BLE001 - the face must stay up and the run be saved
            log = self._write_log()
            return self._fail(
                f"{type(exc).__name__}: {exc}", "see the log for details; the last checkpoint is named", log
            )

    def _write_log(self) -> str | None:
        try:
            path = self.run_.path / "error.log"
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(time.strftime("--- %Y-%m-%d %H:%M:%S\n") + traceback.format_exc())
            return str(path)
        except OSError:
            return None

    def _fail(self, message: str, advice: str, log: str | None = None) -> ev.Failed:
        checkpoint = None
        if self.ready and self.good is not None:
            try:  # save the last good weights, not what broke
                self.model.load_state_dict(self.good[0])
                self.optimizer.load_state_dict(self.good[1])
            except Exception:  # noqa: BLE001, S110 - the failure being reported matters more
                pass
        if self.ready:  # a failed setup or restore writes nothing
            checkpoint = self.save("latest", "final")
        if checkpoint is None and self.run_.checkpoint("latest").exists():
            checkpoint = str(self.run_.checkpoint("latest"))
        failed = ev.Failed(self.step, message, advice, str(self.run_.path), checkpoint, log)
        self.sink(failed)
        return failed

    def _agreed_stop(self, autosave_due: bool) -> tuple[str | None, bool]:
        """(stop reason, autosave now), the same on every rank."""
        reason = self._stop_condition()
        if self.dist is None:
            return reason, autosave_due
        stop, save = self.dist.any([reason is not None, autosave_due], self.device)
        return (reason or ("stopped by another rank" if stop else None)), save

    def _stop_condition(self) -> str | None:
        c = self.config
        if self.stop_requested.is_set():
            return self.stop_reason
        if c.max_steps is not None and self.step >= c.max_steps:
            return "max_steps"
        if c.epochs is not None and self.step >= c.epochs * self.train_streams.chunks_per_epoch:
            return "epochs"
        if c.max_time is not None and time.monotonic() - self.t_start >= c.max_time:
            return "max_time"
        return None

    def _eta(self, steps_per_sec: float) -> float | None:
        c = self.config
        etas = []
        if c.max_steps is not None and steps_per_sec > 0:
            etas.append((c.max_steps - self.step) / steps_per_sec)
        if c.epochs is not None and steps_per_sec > 0:
            etas.append((c.epochs * self.train_streams.chunks_per_epoch - self.step) / steps_per_sec)
        if c.max_time is not None:
            etas.append(c.max_time - (time.monotonic() - self.t_start))
        return max(0.0, min(etas)) if etas else None

    def _open_row(self, lr: float, norm) -> None:
        """This step's metrics row; the first step of a changed rate carries the change (``lr_change``)."""
        row = self.metrics.open(self.step, lr, norm, self.elapsed())
        if self.lr_change is not None:
            row["lr_change"] = self.lr_change
            self.lr_change = None

    def _loop(self) -> ev.Finished | ev.Failed:
        """Truncated BPTT, one chunk of every stream per step, until a stop condition or a stop request."""
        c, streams = self.config, self.train_streams
        self._announce()
        params = [p for p in self.model.parameters()]
        while True:
            self._handle_commands()
            reason, autosave = self._agreed_stop(
                bool(c.save_every) and time.monotonic() - self.last_save >= c.save_every
            )
            if reason:
                return self._finish(reason)
            if autosave:
                self.save("latest", "autosave")
            _, chunk = streams.position(self.step)
            if chunk == 0:
                self.state = None  # the streams wrapped: start from a blank state
            lr = self.lr_at(self.step)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            if self.step_hook is not None:
                self.step_hook(self.step)
            step_started = time.perf_counter()
            loss, norm, new_state = self._forward_backward(chunk, params)
            if self.defer_checks:  # a GPU: the finite check stays on the device (see _deferred_step)
                self._deferred_step(loss, norm, new_state, lr)
                if not self._roll_back_if_due():
                    return self._diverged()
            else:
                outcome = self._checked_step(loss, norm, new_state, lr, step_started)
                if outcome == "diverged":
                    return self._diverged()
                if outcome == "skipped":
                    continue
            if not self._after_step(lr, norm):
                return self._diverged()

    def _announce(self) -> None:
        """Started (and the first weights) for the faces; the loop's clocks from now."""
        c, streams = self.config, self.train_streams
        self.sink(
            ev.Started(
                str(self.run_.path),
                self.run_.name,
                c.to_dict(),
                count_parameters(self.model),
                str(self.device),
                describe(self.device),
                precision_name(self.amp_dtype),
                len(self.corpus.vocab),
                streams.streams.numel() * (self.dist.world if self.dist else 1),
                self.corpus.val.numel(),
                streams.chunks_per_epoch,
                self.step,
                self.notes,
            )
        )
        self._keep_good()
        if self.is_main:
            self.sink(self.snapshot())
        self.bad_run = 0
        self.report_clock = time.monotonic()
        self.report_step = self.step
        self.last_sample = time.monotonic() - (c.sample_every if c.sample_every else 0) + 1.0
        self.in_loop = True

    def _forward_backward(self, chunk: int, params: list) -> tuple[torch.Tensor, torch.Tensor, object]:
        """(loss, clipped gradient norm, new state) of one chunk; the optimizer has not stepped yet."""
        x, y = self.train_streams.batch(chunk)
        with self.autocast():
            logits, new_state = self.net(x, self.state)
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), y.reshape(-1))
        self.optimizer.zero_grad(set_to_none=True)
        scaling = self.scaler.is_enabled()  # fp16 only; bf16 and fp32 need no loss scaling
        (self.scaler.scale(loss) if scaling else loss).backward()
        if scaling:
            self.scaler.unscale_(self.optimizer)
        norm = self.norm = torch.nn.utils.clip_grad_norm_(params, self.config.grad_clip)
        return loss, norm, new_state

    def _after_step(self, lr: float, norm) -> bool:
        """Validation, a Step's end, reports and live samples after a step; False: training diverged."""
        c = self.config
        if self.step % c.eval_every == 0 and self._validate(lr, norm):
            self._keep_good()
        if self.steps_to_take:
            self.steps_to_take -= 1
            if not self.steps_to_take:
                self._flush(time.monotonic())
                if not self._roll_back_if_due():  # deferred checks: a stepped step's NaN is handled now
                    return False
                self._report_steps()
        now = time.monotonic()
        if now - self.report_clock >= self.report_interval:
            self._flush(now)
        if self.is_main and c.sample_every and now - self.last_sample >= c.sample_every:
            self.last_sample = now
            snap = self.snapshot()
            self.sink(snap)
            self.live_sample(snap)
        return True

    def _finish(self, reason: str) -> ev.Finished:
        """The last validation, report and save of a run that stops as asked."""
        if self.step and self.step % self.config.eval_every:
            self._validate(self.lr_at(self.step - 1), self.norm)
        self._flush(time.monotonic())
        path = self.save("latest", "final")
        if self.is_main:
            snap = self.snapshot()
            self.sink(snap)
            if self.config.sample_every and reason in ("max_steps", "epochs", "max_time"):
                self.live_sample(snap)  # a run that ran its course shows what the final model writes
        finished = ev.Finished(self.step, reason, str(self.run_.path), path, self.best_val)
        self.sink(finished)
        return finished

    def _flush(self, now: float, sync: bool = False) -> None:
        """Report the losses gathered since the last report and append their metrics rows
        (``sync``: on disk before a checkpoint that claims them is written)."""
        streams = self.train_streams
        if not self.pending_losses and not self.metrics.has_work(sync):
            return
        pending = self.pending_losses
        self.pending_losses = []
        losses = self._settle(pending)
        last_norm = float(self.norm)
        chars_per_step = streams.batch_size * streams.seq_len
        dt = max(now - self.report_clock, 1e-9)
        rate = (self.step - self.report_step) * chars_per_step / dt
        steps_per_sec = (self.step - self.report_step) / dt
        self.report_clock, self.report_step = now, self.step
        for row in self.metrics.pending.values():  # deferred checks log the norm as it lies on the device
            if isinstance(row.get("grad_norm"), torch.Tensor):
                row["grad_norm"] = float(row["grad_norm"])
        self.metrics.finish(losses, rate, sync)
        if not losses:
            return  # only rows to write (a final evaluation): the last report still stands
        epoch, chunk = streams.position(max(self.step - 1, 0))
        self.sink(
            ev.Progress(
                self.step,
                epoch,
                (chunk + 1) / streams.chunks_per_epoch,
                losses,
                rate,
                self.lr_at(max(self.step - 1, 0)),
                last_norm,
                self.elapsed(),
                self._eta(steps_per_sec),
                self.step * chars_per_step,
                self.skipped,
                memory(self.device),
                self._threads_now(),
            )
        )

    def _threads_now(self) -> int | None:
        if self.device.type != "cpu":
            return None
        return self.tuner.current if self.tuner is not None else torch.get_num_threads()

    def _tune_threads(self, seconds: float) -> None:
        if self.tuner is None:
            return
        before, switches = self.tuner.current, self.tuner.switches
        self.tuner.observe(seconds)
        if self.tuner.switches != switches and self.tuner.probes > 1:  # not the first choice, at start
            why = "the CPU is shared" if self.tuner.current < before else "the CPU is free again"
            self.sink(
                ev.Notice(
                    "info",
                    f"{why}: training on {self.tuner.current} CPU thread"
                    f"{'s' if self.tuner.current > 1 else ''} (faster now)",
                )
            )

    def _validate(self, lr: float, norm) -> bool:
        """Score the validation text, record it in this step's metrics row, keep best.pt. True if scored."""
        val = self.evaluate()
        if val is None or not math.isfinite(val):
            return False
        is_best = self.best_val is None or val < self.best_val
        self.best_val = val if is_best else self.best_val
        row = self.metrics.row_for(self.step) or self.metrics.open(self.step, lr, float(norm), self.elapsed())
        row["val_loss"] = val
        self.sink(ev.EvalResult(self.step, val, val if is_best or self.best_val is None else self.best_val, is_best))
        if is_best:
            self.save("best", "best")
        return True


def default_threads() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))

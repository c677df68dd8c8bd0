"""CPU threads for training when the CPU is shared.

torch's CPU kernels split each operation across OpenMP worker threads and wait for all of them
at the end of it. A recurrent step is thousands of small operations in a row, so when another
process takes a core, every operation waits for a descheduled worker's next time slice: on a
2-core machine a 2x256 LSTM fell from ~54k to a few hundred chars/s, and a stop request waited
behind a 20-second step. Two remedies, both here:

- ``configure_openmp`` (before torch is imported): idle workers sleep instead of spinning, so
  a waiting worker never burns the core the late one needs. A user's own setting wins.
- ``ThreadTuner``: the trainer reports how long each step took; now and then, and at once when
  steps suddenly slow down, it tries the other thread count for a few steps and keeps the
  faster. It runs only when the user did not pin ``--threads``.
No torch import at module level: the CLI calls ``configure_openmp`` first.
"""

from __future__ import annotations

import os
import statistics
import time


def configure_openmp(environ=os.environ) -> None:
    """Passive OpenMP waits unless the user chose otherwise. Must run before torch loads."""
    environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class ThreadTuner:
    """Pick between all cores and one thread by measured step time, over and over.

    A probe runs the other count for a few steps, then the current count again for as many
    (fresh figures under the same load for both), and keeps the faster. Each phase also ends
    after ``PHASE_SECONDS``, so a probe costs little even when steps are slow.
    ``set_threads`` is called with the count to use (``torch.set_num_threads`` in the trainer;
    a recorder in tests) and ``clock`` gives seconds, so the policy is testable without torch.
    """

    WINDOW = 8  # steady-state steps kept to spot a slowdown
    PHASE_STEPS = 4  # steps per probe phase
    PHASE_SECONDS = 3.0  # ... or this long, whichever comes first
    PROBE_EVERY = 30.0  # seconds between routine probes; doubles (to PROBE_MAX) while nothing changes
    PROBE_MAX = 240.0
    SLOWDOWN = 2.0  # a step this many times the recent median triggers a probe at once
    BETTER = 1.10  # the other count must be this much faster to switch

    def __init__(self, max_threads: int, set_threads, clock=time.monotonic):
        self.choices = (max_threads, 1) if max_threads > 1 else (1,)
        self.set_threads = set_threads
        self.clock = clock
        self.current = self.choices[0]
        self.recent: list[float] = []
        self.phase: str | None = None  # None (steady), "probe" or "recheck"
        self.phase_times: dict[str, list[float]] = {}
        self.phase_started = 0.0
        self.home = self.current
        self.probe_every = self.PROBE_EVERY
        self.next_probe = clock() + self.probe_every
        self.switches = 0
        set_threads(self.current)

    @property
    def active(self) -> bool:
        return len(self.choices) > 1

    def observe(self, seconds: float) -> None:
        """One training step took ``seconds`` with ``self.current`` threads."""
        if not self.active:
            return
        if self.phase is not None:
            times = self.phase_times[self.phase]
            times.append(seconds)
            if len(times) >= self.PHASE_STEPS or self.clock() - self.phase_started >= self.PHASE_SECONDS:
                if self.phase == "probe":
                    self._enter("recheck", self.home)
                else:
                    self._decide()
            return
        slow = len(self.recent) >= 3 and seconds > self.SLOWDOWN * statistics.median(self.recent)
        self.recent.append(seconds)
        del self.recent[: -self.WINDOW]
        if slow or (self.clock() >= self.next_probe and len(self.recent) >= 3):
            self.home = self.current
            self.phase_times = {"probe": [], "recheck": []}
            self._enter("probe", next(n for n in self.choices if n != self.current))

    def _enter(self, phase: str, threads: int) -> None:
        self.phase = phase
        self.phase_started = self.clock()
        self._use(threads)

    def _decide(self) -> None:
        probe = statistics.median(self.phase_times["probe"])
        home = statistics.median(self.phase_times["recheck"])
        other = next(n for n in self.choices if n != self.home)
        keep = other if probe * self.BETTER < home else self.home
        if keep != self.home:
            self.switches += 1
            self.probe_every = self.PROBE_EVERY
        else:
            self.probe_every = min(self.PROBE_MAX, self.probe_every * 2)
        self.phase = None
        self.recent = []
        self.next_probe = self.clock() + self.probe_every
        self._use(keep)

    def _use(self, threads: int) -> None:
        if threads != self.current:
            self.current = threads
            self.set_threads(threads)

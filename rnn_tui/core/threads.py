"""CPU threads for training when the CPU is shared.

torch's CPU kernels split each operation across OpenMP worker threads and wait for all of them
at the end of it. A recurrent step is thousands of small operations in a row, so when another
process takes a core, every operation waits for a descheduled worker's next time slice: on a
2-core machine a 2x256 LSTM fell from ~54k to a few hundred chars/s, and a stop request waited
behind a 20-second step. One thread has no one to wait for.

``ThreadTuner``: the trainer reports how long each step took. A step much slower than the recent
ones (another process arrived) makes it try one thread at once; now and then it tries the other
count, and keeps the faster. From one thread it tries all cores again only when the cores it
would use are idle (``/proc/stat``), so a busy machine never pays for a slow probe. It runs only
when the user did not pin ``--threads``. (Passive OpenMP waits were tried as well: they cost 40%
of the unloaded speed on 2 cores, so OpenMP's own wait policy is left alone.)
No torch here: the policy is testable on its own.
"""

from __future__ import annotations

import os
import statistics
import time


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class IdleCores:
    """Cores idle since the last call, from /proc/stat (Linux); None where it cannot be read."""

    def __init__(self, path: str = "/proc/stat") -> None:
        self.path = path
        self.last = self._read()

    def _read(self) -> tuple[int, int] | None:
        try:
            with open(self.path) as fh:
                fields = fh.readline().split()
        except OSError:
            return None
        if not fields or fields[0] != "cpu":
            return None
        values = [int(v) for v in fields[1:]]
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        return idle, sum(values)

    def __call__(self) -> float | None:
        now = self._read()
        before, self.last = self.last, now
        if now is None or before is None or now[1] <= before[1]:
            return None
        return (now[0] - before[0]) / (now[1] - before[1]) * (os.cpu_count() or 1)


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

    def __init__(self, max_threads: int, set_threads, clock=time.monotonic, idle_cores=None):
        self.choices = (max_threads, 1) if max_threads > 1 else (1,)
        self.idle_cores = idle_cores  # callable: cores idle since its last call, or None if unknown
        self.set_threads = set_threads
        self.clock = clock
        # Start on one thread: it is never pathological. The first step tells whether the other cores
        # are free (then all of them are tried at once) or busy (then one thread it stays).
        self.current = self.choices[-1]
        self.recent: list[float] = []
        self.phase: str | None = None  # None (steady), "probe" or "recheck"
        self.phase_times: dict[str, list[float]] = {}
        self.phase_started = 0.0
        self.home = self.current
        self.probe_every = self.PROBE_EVERY
        self.next_probe = clock()  # the first probe follows the first step
        self.switches = 0
        self.probes = 0
        self.typical: dict[int, float] = {}  # median step time per thread count, as last measured
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
        typical = self.typical.get(self.current)
        if len(self.recent) >= 3:
            typical = statistics.median(self.recent)
        slow = typical is not None and seconds > self.SLOWDOWN * typical
        self.recent.append(seconds)
        del self.recent[: -self.WINDOW]
        enough = len(self.recent) >= (1 if self.switches == 0 and self.probes == 0 else 3)
        if slow or (self.clock() >= self.next_probe and enough):
            if self.current < max(self.choices) and not self._room_for_more():
                self.next_probe = self.clock() + self.PROBE_EVERY  # the other cores are busy: ask again later
                return
            self.home = self.current
            self.probes += 1
            self.phase_times = {"probe": [], "recheck": []}
            self._enter("probe", next(n for n in self.choices if n != self.current))

    def _room_for_more(self) -> bool:
        """From one thread, all cores are worth a try only if the extra ones are (mostly) idle."""
        if self.idle_cores is None:
            return True
        idle = self.idle_cores()
        return idle is None or idle >= 0.7 * (max(self.choices) - self.current)

    def _enter(self, phase: str, threads: int) -> None:
        self.phase = phase
        self.phase_started = self.clock()
        self._use(threads)

    def _decide(self) -> None:
        probe = statistics.median(self.phase_times["probe"])
        home = statistics.median(self.phase_times["recheck"])
        other = next(n for n in self.choices if n != self.home)
        self.typical[other], self.typical[self.home] = probe, home
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

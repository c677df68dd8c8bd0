"""The thread tuner: when another process takes a core, training moves to the faster thread count."""

from rnn_tui.core.threads import IdleCores, ThreadTuner


class FakeCPU:
    """Step time as a function of the thread count and whether a competitor holds a core."""

    def __init__(self):
        self.now = 0.0
        self.loaded = False
        self.threads_set = []

    def clock(self):
        return self.now

    def step_time(self, threads):
        if threads == 2:
            return 5.0 if self.loaded else 0.5  # workers wait for each other's time slices
        return 0.8


def drive(tuner, cpu, steps):
    """``steps`` steps, then on until no probe is under way (its choice made)."""
    done = 0
    while done < steps or tuner.phase is not None:
        seconds = cpu.step_time(tuner.current)
        cpu.now += seconds
        tuner.observe(seconds)
        done += 1


def test_starts_on_one_thread_and_takes_all_cores_when_they_are_free():
    cpu = FakeCPU()
    tuner = ThreadTuner(2, cpu.threads_set.append, clock=cpu.clock, idle_cores=lambda: 1.0)
    assert cpu.threads_set == [1]  # never starts in the state that can crawl
    drive(tuner, cpu, 12)
    assert tuner.current == 2


def test_a_busy_machine_at_start_keeps_one_thread_and_pays_no_slow_probe():
    cpu = FakeCPU()
    cpu.loaded = True
    tuner = ThreadTuner(2, cpu.threads_set.append, clock=cpu.clock, idle_cores=lambda: 0.05)
    drive(tuner, cpu, 500)
    assert cpu.threads_set == [1]


def test_moves_to_one_thread_under_load_and_back_when_free():
    cpu = FakeCPU()
    tuner = ThreadTuner(2, cpu.threads_set.append, clock=cpu.clock)
    drive(tuner, cpu, 200)  # unloaded: two threads, found at the first probe, and they stay
    assert tuner.current == 2 and tuner.switches == 1
    cpu.loaded = True
    drive(tuner, cpu, 12)  # the first slow step triggers a probe at once
    assert tuner.current == 1 and tuner.switches == 2
    cpu.loaded = False
    drive(tuner, cpu, 400)  # a routine probe finds two threads faster again
    assert tuner.current == 2 and tuner.switches == 3
    assert cpu.threads_set[-1] == 2


def test_probe_costs_little_time_when_steps_are_slow():
    cpu = FakeCPU()
    tuner = ThreadTuner(2, cpu.threads_set.append, clock=cpu.clock)
    drive(tuner, cpu, 20)
    assert tuner.current == 2
    cpu.loaded = True
    start = cpu.now
    while tuner.current != 1:
        drive(tuner, cpu, 1)
    assert cpu.now - start < 20  # a few slow steps, not a window of them


def test_one_core_means_no_tuning():
    calls = []
    tuner = ThreadTuner(1, calls.append, clock=lambda: 0.0)
    for _ in range(50):
        tuner.observe(1.0)
    assert not tuner.active and calls == [1]


def test_from_one_thread_it_tries_more_only_when_the_other_core_is_idle():
    cpu = FakeCPU()
    idle = {"cores": 0.0}
    tuner = ThreadTuner(2, cpu.threads_set.append, clock=cpu.clock, idle_cores=lambda: idle["cores"])
    cpu.loaded = True
    drive(tuner, cpu, 12)
    assert tuner.current == 1 and cpu.threads_set == [1]
    tried = len(cpu.threads_set)
    drive(tuner, cpu, 2000)  # the competitor stays: no slow two-thread probe is ever paid for
    assert len(cpu.threads_set) == tried and tuner.current == 1
    cpu.loaded, idle["cores"] = False, 0.95
    drive(tuner, cpu, 200)
    assert tuner.current == 2


def test_idle_cores_reads_proc_stat(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 100 800 0 0 0 0 0 0\n")
    idle = IdleCores(str(stat))
    stat.write_text("cpu  200 0 100 900 0 0 0 0 0 0\n")  # half of the new time idle
    import os

    assert abs(idle() - 0.5 * (os.cpu_count() or 1)) < 1e-9
    assert IdleCores(str(tmp_path / "missing"))() is None

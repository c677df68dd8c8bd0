"""The thread tuner: when another process takes a core, training moves to the faster thread count."""

import subprocess
import sys

from rnn_tui.core.threads import ThreadTuner, configure_openmp


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
    for _ in range(steps):
        seconds = cpu.step_time(tuner.current)
        cpu.now += seconds
        tuner.observe(seconds)


def test_moves_to_one_thread_under_load_and_back_when_free():
    cpu = FakeCPU()
    tuner = ThreadTuner(2, cpu.threads_set.append, clock=cpu.clock)
    assert cpu.threads_set == [2]
    drive(tuner, cpu, 200)  # unloaded: probes happen, two threads stay
    assert tuner.current == 2 and tuner.switches == 0
    cpu.loaded = True
    drive(tuner, cpu, 12)  # the first slow step triggers a probe at once
    assert tuner.current == 1 and tuner.switches == 1
    cpu.loaded = False
    drive(tuner, cpu, 400)  # a routine probe finds two threads faster again
    assert tuner.current == 2 and tuner.switches == 2
    assert cpu.threads_set[-1] == 2


def test_probe_costs_little_time_when_steps_are_slow():
    cpu = FakeCPU()
    tuner = ThreadTuner(2, cpu.threads_set.append, clock=cpu.clock)
    drive(tuner, cpu, 10)
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


def test_openmp_waits_passively_unless_the_user_chose():
    env = {}
    configure_openmp(env)
    assert env["OMP_WAIT_POLICY"] == "PASSIVE"
    env = {"OMP_WAIT_POLICY": "ACTIVE"}
    configure_openmp(env)
    assert env["OMP_WAIT_POLICY"] == "ACTIVE"


def test_the_cli_sets_the_policy_before_torch_loads():
    code = ("import os, sys; from rnn_tui import cli; "
            "cli.main(['runs', '--runs-dir', '/nonexistent-rnn-tui-runs']); "
            "print(os.environ.get('OMP_WAIT_POLICY'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"PATH": "/usr/bin"})
    assert out.stdout.strip().splitlines()[-1] == "PASSIVE"

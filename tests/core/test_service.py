"""The live server: many viewers, late viewers, slow or dead viewers, owner-only socket, stale leftovers."""

import fcntl
import json
import os
import queue
import socket
import stat
import time

import pytest
import torch

from rnn_tui.core import commands as cmd
from rnn_tui.core import events as ev
from rnn_tui.core import live, wire
from rnn_tui.core.replay import Replay
from rnn_tui.core.service import MERGE_AFTER, LiveServer, _Frame, _Viewer, connect


def started(run_dir, start_step=0):
    return ev.Started(str(run_dir), run_dir.name, {"cell": "lstm"}, 10, "cpu", "CPU", "fp32", 5, 100, 10, 4, start_step)


def progress(step, losses=None):
    return ev.Progress(
        step, 0, 0.5, losses if losses is not None else ((step, 2.0 + 1 / step),), 1.0, 1e-3, 0.5, 1.0, None, 0, 0
    )


class Client:
    def __init__(self, path):
        self.sock = connect(path)
        self.sock.settimeout(0.1)
        self.reader = wire.FrameReader()
        self.records = []

    def read_until(self, predicate, seconds=5.0):
        deadline = time.monotonic() + seconds
        while not predicate(self.records):
            assert time.monotonic() < deadline, [type(r).__name__ for r in self.records]
            try:
                data = self.sock.recv(1 << 20)
            except TimeoutError:
                continue
            if not data:
                raise EOFError
            self.records += self.reader.feed(data)
        return self.records


@pytest.fixture
def run_dir(tmp_path):
    folder = tmp_path / "runs" / "r"
    folder.mkdir(parents=True)
    with open(folder / "lock", "w") as lock:  # held as the trainer holds it
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield folder


@pytest.fixture
def server(run_dir):
    stops = []
    served = LiveServer(queue.Queue(), stops.append, validation=lambda: "the validation text").start()
    served.stops = stops
    yield served
    served.close(linger=0.5)


def wait_for(predicate, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.02)


def serving(server, run_dir, **kw):
    server.publish(started(run_dir, **kw))
    wait_for(lambda: (run_dir / "live.json").exists())
    return run_dir / "live.sock"


def steps(records):
    return [r.step for r in records if isinstance(r, ev.Progress)]


def test_two_viewers_see_the_events_and_one_leaving_never_disturbs_the_other(server, run_dir):
    path = serving(server, run_dir)
    first, second = Client(path), Client(path)
    for c in (first, second):
        c.read_until(lambda rs: any(isinstance(r, wire.RunText) for r in rs))
        assert isinstance(c.records[0], wire.Welcome) and c.records[0].pid == os.getpid()
    for step in range(1, 6):
        server.publish(progress(step))
    for c in (first, second):
        c.read_until(lambda rs: 5 in steps(rs))
    first.sock.close()  # a viewer killed mid-stream
    for step in range(6, 40):
        server.publish(progress(step))
    second.read_until(lambda rs: 39 in steps(rs))
    # a burst may reach it merged into fewer reports, never with a loss point missing
    assert [s for r in second.records if isinstance(r, ev.Progress) for s, _ in r.losses] == list(range(1, 40))
    second.sock.sendall(wire.encode(cmd.Save()) + wire.encode(cmd.SetSampleTemperature(0.5)))
    assert server.commands.get(timeout=5) == cmd.Save()
    assert server.commands.get(timeout=5) == cmd.SetSampleTemperature(0.5)
    second.sock.sendall(wire.encode(cmd.Stop("rnn-tui stop")))
    wait_for(lambda: server.stops == ["rnn-tui stop"])  # the whole request stops, not only this trainer
    assert server.commands.empty()


def test_the_socket_is_owner_only_and_live_json_names_it(server, run_dir):
    path = serving(server, run_dir)
    assert stat.S_ISSOCK(os.stat(path).st_mode)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    data = json.loads((run_dir / "live.json").read_text())
    assert data["pid"] == os.getpid() and data["socket"] == str(path)
    found = live.live_run(run_dir)
    assert found is not None and found.socket == path and found.pid == os.getpid()
    assert not [n for n in os.listdir(run_dir) if ".tmp-" in n]


def test_a_peer_of_another_user_is_turned_away(server, run_dir, monkeypatch):
    from rnn_tui.core import service

    path = serving(server, run_dir)
    monkeypatch.setattr(service, "_peer_uid", lambda sock: os.getuid() + 1)
    stranger = Client(path)
    with pytest.raises(EOFError):
        stranger.read_until(lambda rs: False)
    assert stranger.records == []  # not even the welcome
    monkeypatch.undo()
    assert isinstance(Client(path).read_until(lambda rs: rs)[0], wire.Welcome)


def test_a_late_viewer_gets_the_run_as_it_stands(server, run_dir):
    serving(server, run_dir)
    weights = {"w": torch.ones(2)}
    for event in (
        progress(5),
        ev.EvalResult(5, 2.0, 2.0, True),
        progress(7),
        ev.Sample(7, "text", 0.8),
        ev.Saved(6, "p", "latest", "autosave"),
        ev.StateChanged("paused"),
        ev.Snapshot(7, {}, "ab", weights),
    ):
        server.publish(event)
    wait_for(lambda: server.replay.snapshot is not None)
    late = Client(run_dir / "live.sock")
    records = late.read_until(lambda rs: any(isinstance(r, ev.Snapshot) for r in rs))
    kinds = [type(r).__name__ for r in records]
    assert kinds == [
        "Welcome",
        "Started",
        "RunText",
        "EvalResult",
        "Progress",
        "Sample",
        "Saved",
        "StateChanged",
        "Snapshot",
    ]
    assert records[0].state == "paused"
    assert records[1].start_step == 7  # the dashboard reads steps up to 7 from metrics.jsonl
    assert records[2].validation == "the validation text"
    assert records[4].step == 7 and torch.equal(records[-1].weights["w"], weights["w"])


def test_a_viewer_that_stops_reading_never_holds_up_the_trainer(server, run_dir):
    path = serving(server, run_dir)
    stuck = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.connect(str(path))  # and never reads
    reader = Client(path)
    text = "x" * 20_000
    began = time.perf_counter()
    for step in range(2500):
        server.publish(ev.Sample(step, text, 0.8))
    assert time.perf_counter() - began < 2.0  # publishing never waits on a socket
    reader.read_until(lambda rs: any(isinstance(r, ev.Sample) and r.step == 2499 for r in rs), seconds=30)
    wait_for(lambda: len(server.viewers) == 1)  # the stuck one was dropped, the reader kept
    server.publish(progress(1))
    reader.read_until(lambda rs: 1 in steps(rs))
    stuck.close()


def test_a_slow_viewer_gets_progress_merged_and_loses_no_loss_point():
    viewer = _Viewer(socket.socket())
    for step in range(1, 201):
        viewer.queue(_Frame(progress(step)))
    viewer.queue(_Frame(ev.Snapshot(1, {}, "ab", {})))
    viewer.queue(_Frame(ev.Snapshot(2, {}, "ab", {})))
    events = [f.event for f in viewer.out]
    assert len(events) <= MERGE_AFTER + 3
    assert [s for p in events if isinstance(p, ev.Progress) for s, _ in p.losses] == list(range(1, 201))
    assert [e.step for e in events if isinstance(e, ev.Snapshot)] == [2]  # only the newest weights
    viewer.sock.close()


def test_the_end_of_the_run_removes_the_socket_before_the_lock_goes(server, run_dir):
    path = serving(server, run_dir)
    client = Client(path)
    server.publish(ev.Finished(9, "max_steps", str(run_dir), None, None))
    client.read_until(lambda rs: any(isinstance(r, ev.Finished) for r in rs))
    wait_for(lambda: not path.exists() and not (run_dir / "live.json").exists())
    server.close(linger=2.0)
    with pytest.raises(EOFError):
        client.read_until(lambda rs: False)  # the viewer read the end, then the server closed


def test_a_long_run_folder_path_still_gets_a_socket(tmp_path):
    folder = tmp_path / ("d" * 90) / "runs" / ("r" * 80)
    folder.mkdir(parents=True)
    server = LiveServer(queue.Queue(), lambda reason: None).start()
    try:
        path = serving(server, folder)
        client = Client(path)
        assert isinstance(client.read_until(lambda rs: rs)[0], wire.Welcome)
    finally:
        server.close(linger=0.2)


def test_leftovers_of_a_killed_trainer_are_stale_and_cleaned(tmp_path):
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "lock").write_text("999999")
    (folder / "live.json").write_text(json.dumps({"pid": 999999, "socket": str(folder / "live.sock")}))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(folder / "live.sock"))
    sock.close()  # a socket file nobody listens on, as kill -9 leaves it
    assert live.live_run(folder) is None  # the lock is free: not live, whatever live.json says
    assert not (folder / "live.json").exists() and not (folder / "live.sock").exists()
    assert live.live_runs(tmp_path) == []


def test_compared_runs_replay_whole_for_a_late_viewer(tmp_path):
    replay = Replay(compare=True)
    for index, cell in enumerate(("rnn", "gru")):
        replay.record(ev.CompareStarted(index, 2, cell))
        replay.record(started(tmp_path / cell))
        for step in range(1, 4):
            replay.record(progress(step))
        replay.record(ev.EvalResult(3, 1.0, 1.0, True))
        if cell == "rnn":
            replay.record(ev.Finished(3, "max_steps", str(tmp_path / cell), None, 1.0))
            replay.record(ev.CompareMeasured("rnn", 0.5))
    kinds = [type(e).__name__ for e in replay.events()]
    assert kinds == [
        "CompareStarted",
        "Started",
        "EvalResult",
        "Progress",
        "Finished",
        "CompareMeasured",
        "CompareStarted",
        "Started",
        "EvalResult",
        "Progress",
    ]
    first_curve = replay.events()[3]
    assert [s for s, _ in first_curve.losses] == [1, 2, 3]  # the whole curve of a finished compared run


def test_under_torchrun_a_viewer_cannot_make_rank_0_wait_alone(run_dir):
    """Pause or save on rank 0 alone would leave the other ranks waiting in a collective."""
    server = LiveServer(queue.Queue(), lambda reason: None, distributed=True).start()
    try:
        client = Client(serving(server, run_dir))
        client.read_until(lambda rs: any(isinstance(r, ev.Started) for r in rs))
        client.sock.sendall(wire.encode(cmd.Pause()) + wire.encode(cmd.Save()) + wire.encode(cmd.RequestSnapshot()))
        assert server.commands.get(timeout=5) == cmd.RequestSnapshot()
        notices = client.read_until(lambda rs: sum(isinstance(r, ev.Notice) for r in rs) == 2)
        assert all("torchrun" in r.message for r in notices if isinstance(r, ev.Notice))
        assert server.commands.empty()
    finally:
        server.close(linger=0.2)

"""The trainer-viewer codec: every record round-trips; nothing else gets through."""

import dataclasses
import io
import json
import math

import pytest
import torch

from rnn_tui.core import commands as cmd
from rnn_tui.core import events as ev
from rnn_tui.core import wire

WEIGHTS = {"embed.weight": torch.randn(5, 3), "head.bias": torch.arange(4, dtype=torch.float32)}

SAMPLES = [
    ev.Started(
        "/r/x",
        "x",
        {"cell": "lstm", "layers": 2, "dropout": 0.1, "seed": None},
        1234,
        "cpu",
        "CPU",
        "fp32",
        65,
        1000,
        100,
        10,
        5,
        ("a note", "[bold]not markup[/]"),
    ),
    ev.Progress(10, 1, 0.5, ((9, 2.5), (10, 2.25)), 1234.5, 1e-3, 0.7, 12.5, None, 4096, 1, (10, 20)),
    ev.Progress(11, 0, 0.0, (), 0.0, 0.0, math.inf, 0.0, 3.0, 0, 0, None),
    ev.EvalResult(20, 2.0, 1.9, False),
    ev.Sample(20, "ROMEO.\n\x1b[31m\u00e9\u4e2d\U0001f600", 0.8),
    ev.Saved(20, "/r/x/latest.pt", "latest", "autosave"),
    ev.Snapshot(20, {"cell": "gru", "hidden_size": 3}, "abcde", WEIGHTS),
    ev.Notice("warning", "line one\nline two"),
    ev.StateChanged("paused"),
    ev.Finished(30, "max_steps", "/r/x", "/r/x/latest.pt", 1.5),
    ev.Finished(30, "quit", "/r/x", None, None),
    ev.Failed(3, "boom", "resume it", "/r/x", None, "/r/x/error.log"),
    ev.CompareStarted(1, 3, "gru"),
    ev.CompareMeasured("gru", 1e-5),
    ev.CompareMeasured(None, None),
    cmd.Pause(),
    cmd.Resume(),
    cmd.Stop("quit"),
    cmd.Save(),
    cmd.RequestSnapshot(),
    cmd.SetSampleTemperature(0.6),
    cmd.Step(3),
    cmd.ScaleLearningRate(0.5),
    ev.LearningRateChanged(41, 2e-3, 2.0, 4.0),
    wire.Welcome(wire.PROTOCOL, 42, "running", "/r/x", 1.5, ("rnn", "gru")),
    wire.SetupError("x.txt: no such file", 2),
    wire.RunText("/r/x", "val text"),
]


def test_the_samples_cover_every_record_class():
    assert {type(s).__name__ for s in SAMPLES} == set(wire.KNOWN)
    assert set(wire.KNOWN) >= {"Started", "Progress", "Snapshot", "Finished", "Failed", "Stop", "SetSampleTemperature"}


@pytest.mark.parametrize("record", SAMPLES, ids=lambda r: type(r).__name__)
def test_every_record_round_trips_through_one_frame(record):
    frame = wire.encode(record)
    reader = wire.FrameReader()
    got = reader.feed(frame[:7]) + reader.feed(frame[7:])  # split anywhere, whole records only
    assert len(got) == 1
    back = got[0]
    assert type(back) is type(record)
    if isinstance(record, ev.Snapshot):
        assert dataclasses.replace(back, weights=None) == dataclasses.replace(record, weights=None)
        assert back.weights.keys() == WEIGHTS.keys()
        assert all(torch.equal(back.weights[k], WEIGHTS[k]) for k in WEIGHTS)
    else:
        assert back == record


def test_several_frames_in_one_read_come_out_in_order():
    data = b"".join(wire.encode(r) for r in SAMPLES if not isinstance(r, ev.Snapshot))
    assert wire.FrameReader().feed(data) == [r for r in SAMPLES if not isinstance(r, ev.Snapshot)]


def _frame(data: dict, blob: bytes = b"") -> bytes:
    text = json.dumps(data).encode()
    return wire.HEADER.pack(len(text), len(blob)) + text + blob


@pytest.mark.parametrize(
    "data",
    [
        {"type": "Popen", "args": ["rm", "-rf", "/"]},
        {"type": "RunRequest", "corpus": "x"},
        {"type": "__class__"},
        {"type": "Stop", "reason": "x", "extra": 1},
        {"type": "SetSampleTemperature"},
        {"no": "type"},
        ["Stop"],
    ],
)
def test_unknown_classes_and_wrong_fields_are_refused(data):
    with pytest.raises(wire.WireError):
        wire.FrameReader().feed(_frame(data))


def test_a_viewer_may_send_commands_only():
    reader = wire.FrameReader(wire.COMMANDS, max_blob=0)
    assert reader.feed(wire.encode(cmd.Save())) == [cmd.Save()]
    with pytest.raises(wire.WireError):
        wire.FrameReader(wire.COMMANDS).feed(wire.encode(ev.Notice("info", "x")))
    with pytest.raises(wire.WireError):  # weights from a viewer: refused before a byte of them is read
        reader.feed(wire.encode(ev.Snapshot(1, {}, "ab", WEIGHTS)))


class Boom:
    def __reduce__(self):
        return (print, ("pickle ran",))


def pickled_code() -> io.BytesIO:
    """Weights that would run code if unpickled without weights_only."""
    buffer = io.BytesIO()
    torch.save({"w": Boom()}, buffer)
    return buffer


def test_pickled_weights_are_never_loaded():
    buffer = pickled_code()
    head = {"type": "Snapshot", "step": 1, "config": {}, "vocab": "ab"}
    with pytest.raises(wire.WireError, match="unreadable"):
        wire.FrameReader().feed(_frame(head, buffer.getvalue()))
    with pytest.raises(wire.WireError):  # an attachment on a record that has none
        wire.FrameReader().feed(_frame({"type": "Save"}, b"xx"))


def test_a_huge_frame_header_is_refused_before_reading_it():
    with pytest.raises(wire.WireError, match="larger"):
        wire.FrameReader().feed(wire.HEADER.pack(wire.MAX_JSON + 1, 0))


def test_snapshots_can_be_skipped_without_torch_loading_them():
    data = wire.encode(ev.Snapshot(1, {}, "ab", WEIGHTS)) + wire.encode(cmd.Save())
    assert wire.FrameReader(skip=frozenset({"Snapshot"})).feed(data) == [cmd.Save()]


def test_a_lazy_snapshot_reads_its_weights_only_when_used_and_refuses_bad_ones_then():
    record = ev.Snapshot(7, {"cell": "lstm"}, "ab", WEIGHTS)
    frame = wire.FrameReader(defer=frozenset({"Snapshot"})).feed(wire.encode(record))[0]
    lazy = frame.decode_lazily()
    assert lazy.step == 7 and lazy.vocab == "ab" and isinstance(lazy.weights, wire.LazyWeights)
    assert lazy.weights._weights is None  # nothing read yet
    assert set(lazy.weights) == set(WEIGHTS) and all(torch.equal(lazy.weights[k], WEIGHTS[k]) for k in WEIGHTS)

    buffer = pickled_code()
    head = {"type": "Snapshot", "step": 1, "config": {}, "vocab": "ab"}
    body = json.dumps(head, separators=(",", ":")).encode()
    data = wire.HEADER.pack(len(body), len(buffer.getvalue())) + body + buffer.getvalue()
    bad = wire.FrameReader(defer=frozenset({"Snapshot"})).feed(data)[0].decode_lazily()  # refused only when read
    with pytest.raises(wire.WireError, match="unreadable"):
        dict(bad.weights)

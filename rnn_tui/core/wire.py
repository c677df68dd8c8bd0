"""What a trainer and its viewers say to each other: frames of JSON, weights as tensors.

A frame is ``>II`` (JSON length, attachment length), the JSON, then the attachment. The JSON is
one dataclass as ``{"type": ClassName, ...fields}``; only the classes of ``core.events``,
``core.commands`` and the few below are known, so a frame can never name anything else. A
Snapshot's weights travel as ``torch.save`` bytes and are read back with ``weights_only=True``:
nothing in a frame can run code (no pickle).
"""

from __future__ import annotations

import dataclasses
import io
import json
import struct
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from rnn_tui.core import commands as cmd
from rnn_tui.core import events as ev

PROTOCOL = 1
HEADER = struct.Struct(">II")
MAX_JSON = 16 << 20  # a sample or a config is far smaller; a bigger header is not ours
MAX_BLOB = 4 << 30  # the weights of the largest model anyone trains here, with room


class WireError(ValueError):
    """A frame that is not one of ours (unknown class, wrong fields, too large)."""


@dataclass(frozen=True)
class Welcome:
    """The first frame a viewer gets: who trains, and what it is doing."""

    protocol: int
    pid: int
    state: str  # "preparing", "running", "paused", "finished"
    run_dir: str | None
    started_at: float
    compare: tuple[str, ...] = ()


@dataclass(frozen=True)
class SetupError:
    """The run could not be prepared (bad corpus, bad option): the one line the command line prints."""

    message: str
    exit_code: int = 2


@dataclass(frozen=True)
class RunText:
    """The start of the run's validation text, for the gate and gradient-flow views of a viewer."""

    run_dir: str
    validation: str


def _dataclasses(module) -> dict:
    return {
        name: obj
        for name, obj in vars(module).items()
        if isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == module.__name__
    }


EVENTS = {**_dataclasses(ev), "Welcome": Welcome, "SetupError": SetupError, "RunText": RunText}
COMMANDS = _dataclasses(cmd)
KNOWN = {**EVENTS, **COMMANDS}


def _tuples(value):
    """JSON has lists only; the records hold tuples (immutable, comparable)."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def to_dict(obj) -> dict:
    """A known record as plain JSON values (a Snapshot's weights left out: they are the attachment)."""
    name = type(obj).__name__
    if KNOWN.get(name) is not type(obj):
        raise WireError(f"{name} is not a record the trainer and its viewers exchange")
    data = {"type": name}
    for f in dataclasses.fields(obj):
        if not (name == "Snapshot" and f.name == "weights"):
            data[f.name] = getattr(obj, f.name)
    return data


def from_dict(data: dict, allowed: dict = KNOWN, weights=None):
    """The record ``data`` describes; unknown classes and missing or extra fields are refused."""
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise WireError("a frame without a record type")
    name = data["type"]
    cls = allowed.get(name)
    if cls is None:
        raise WireError(f"unknown record type {name[:40]!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    given = {k: v for k, v in data.items() if k != "type"}
    if name == "Snapshot":
        given["weights"] = weights
    unknown = set(given) - set(fields)
    missing = {
        n
        for n, f in fields.items()
        if n not in given and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    if unknown or missing:
        raise WireError(f"{name}: fields do not match (unknown {sorted(unknown)}, missing {sorted(missing)})")
    return cls(**{k: (v if isinstance(v, dict) or k == "weights" else _tuples(v)) for k, v in given.items()})


def encode(obj) -> bytes:
    """One frame for ``obj``."""
    blob = b""
    if isinstance(obj, ev.Snapshot):
        import torch

        buffer = io.BytesIO()
        torch.save(dict(obj.weights), buffer)
        blob = buffer.getvalue()
    text = json.dumps(to_dict(obj), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return HEADER.pack(len(text), len(blob)) + text + blob


def decode(body: bytes, blob: bytes = b"", allowed: dict = KNOWN):
    """The record of a frame's JSON ``body`` and attachment ``blob``."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise WireError(f"a frame that is not JSON ({exc})") from None
    weights = None
    if isinstance(data, dict) and data.get("type") == "Snapshot" and "Snapshot" in allowed:
        weights = _load_weights(blob)
    elif blob:
        raise WireError("an attachment on a record that has none")
    return from_dict(data, allowed, weights)


def _load_weights(blob: bytes) -> dict:
    import torch

    try:
        weights = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - whatever is wrong with the bytes, they are refused
        raise WireError(f"Snapshot weights unreadable ({type(exc).__name__})") from None
    if not isinstance(weights, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in weights.items()
    ):
        raise WireError("Snapshot weights are not a mapping of tensors")
    return weights


@dataclass(frozen=True)
class Deferred:
    """A whole frame not decoded yet (a Snapshot: its weights need torch, which takes a while to load)."""

    kind: str
    body: bytes
    blob: bytes
    allowed: dict

    def decode(self):
        return decode(self.body, self.blob, self.allowed)

    def decode_lazily(self):
        """The record now, a Snapshot's weights only when something reads them (see LazyWeights)."""
        try:
            data = json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise WireError(f"a frame that is not JSON ({exc})") from None
        if not (isinstance(data, dict) and data.get("type") == "Snapshot"):
            return self.decode()
        return from_dict(data, self.allowed, LazyWeights(self.blob))


class LazyWeights(Mapping):
    """A Snapshot's weights, read from their bytes the first time they are used.

    A viewer gets new weights every few seconds and, on the dashboard, never looks at them: reading
    them (torch.load) on the thread that receives them takes the interpreter's lock from the screen
    for tens of milliseconds each time. Read here, it happens on the thread that needs them (a gate
    trace, a sample), once; what is wrong with the bytes is refused then, as decode() refuses it.
    """

    def __init__(self, blob: bytes) -> None:
        self._blob = blob
        self._weights: dict | None = None
        self._lock = threading.Lock()

    def _loaded(self) -> dict:
        with self._lock:
            if self._weights is None:
                self._weights = _load_weights(self._blob)
                self._blob = b""
            return self._weights

    def __getitem__(self, key):
        return self._loaded()[key]

    def __iter__(self):
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())


def _type_of(body: bytes) -> str | None:
    head = body[:64]
    if head.startswith(b'{"type":"'):
        return head[9:].split(b'"', 1)[0].decode("ascii", "replace")
    return None


class FrameReader:
    """Splits a byte stream into frames: feed what ``recv`` returned, take whole frames."""

    def __init__(
        self,
        allowed: dict = KNOWN,
        max_blob: int = MAX_BLOB,
        skip: frozenset = frozenset(),
        defer: frozenset = frozenset(),
    ):
        self.allowed = allowed
        self.max_blob = max_blob
        self.skip = skip  # record types to pass over unread (a Snapshot for a reader without torch)
        self.defer = defer  # record types handed out as ``Deferred``, decoded when the reader chooses
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list:
        return list(self.stream(data))

    def stream(self, data: bytes):
        """The records ``data`` completes, decoded one at a time as they are taken (a reader can act on
        a record before the next, perhaps large, is decoded)."""
        self.buffer += data
        while len(self.buffer) >= HEADER.size:
            size, blob_size = HEADER.unpack_from(self.buffer)
            if size > MAX_JSON or blob_size > self.max_blob:
                raise WireError(f"a frame of {size + blob_size:,} bytes is larger than any of ours")
            end = HEADER.size + size + blob_size
            if len(self.buffer) < end:
                break
            body = bytes(self.buffer[HEADER.size : HEADER.size + size])
            blob = bytes(self.buffer[HEADER.size + size : end])
            del self.buffer[:end]
            if self.skip or self.defer:
                kind = _type_of(body)
                if kind in self.skip:
                    continue
                if kind is not None and kind in self.defer:
                    yield Deferred(kind, body, blob, self.allowed)
                    continue
            yield decode(body, blob, self.allowed)

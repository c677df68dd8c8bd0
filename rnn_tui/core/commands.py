"""What a face can ask the trainer. Sent on a queue, handled between steps."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pause:
    pass


@dataclass(frozen=True)
class Resume:
    pass


@dataclass(frozen=True)
class Stop:
    reason: str = "stopped"


@dataclass(frozen=True)
class Save:
    pass


@dataclass(frozen=True)
class RequestSnapshot:
    pass


@dataclass(frozen=True)
class SetSampleTemperature:
    temperature: float

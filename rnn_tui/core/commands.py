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


@dataclass(frozen=True)
class Step:
    """While paused: train exactly ``count`` steps, report them, and stay paused.
    While running: train ``count`` more steps, then pause (so a Step that races a Resume still ends paused)."""

    count: int = 1


@dataclass(frozen=True)
class ScaleLearningRate:
    """Multiply the learning rate of every later step by ``factor`` (x2 = 2.0, /2 = 0.5); paused or running."""

    factor: float

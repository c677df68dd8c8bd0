"""Numbers as people read them, the same in every face: durations, counts, loss units."""

from __future__ import annotations

import math

NATS_TO_BITS = 1 / math.log(2)  # a loss in nats per character times this is bits per character


def duration(seconds: float | None) -> str:
    """A short duration: ``2m05s``, or ``1h02m`` from an hour on; ``-`` when unknown."""
    if seconds is None:
        return "-"
    whole = int(max(0, seconds))
    if whole >= 3600:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 60}m{whole % 60:02d}s"


def clock(seconds: float | None) -> str:
    """A duration as a clock reads: ``1:02:05``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def ago(seconds: float) -> str:
    """How long ago, in the largest whole unit: ``5s ago``, ``2m ago``, ``3d ago``."""
    whole = int(max(0, seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole >= size:
            return f"{whole // size}{unit} ago"
    return f"{whole}s ago"


def count(n: float) -> str:
    """A large count in three digits or so: ``812.3k``, ``1.2M``."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f}{unit}"
    return f"{n:.0f}"

"""Thread priorities: who gets the CPU when training and the screen both want it. No torch here."""

from __future__ import annotations

import os


def lower_thread_priority(niceness: int = 10) -> None:
    """Set the calling thread's nice value (Linux: per thread; elsewhere nothing happens).

    The trainer runs at 5, so the screen (0) gets a core the moment it needs one; interactive
    sampling and tracing run at 10, so they fill the gaps training leaves instead of taking turns.
    Threads started afterwards from the calling thread (torch's workers) inherit the value.
    """
    import threading

    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except (AttributeError, OSError):
        pass

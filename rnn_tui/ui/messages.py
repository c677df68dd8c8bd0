"""App-wide messages: trainer events carried into the Textual message loop."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from rnn_tui.core.events import Snapshot


class TrainerEvent(Message):
    """One event from the trainer thread (posted with ``post_message``, which never blocks it)."""

    def __init__(self, event: object) -> None:
        super().__init__()
        self.event = event


class SnapshotReady(Message):
    """A new weights snapshot; only the latest matters, so a backlog collapses."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SnapshotReady)


class SetupFailed(Message):
    """The corpus or run could not be prepared: the app exits with this line and code 2."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__()
        self.message = message
        self.exit_code = exit_code  # 2: the user's input; 1: anything else


class CompareMeasured(Message):
    """Gradient decay at distance 50 for a compared cell; ``cell`` None when all runs are done."""

    def __init__(self, cell: str | None, decay: float | None) -> None:
        super().__init__()
        self.cell = cell
        self.decay = decay

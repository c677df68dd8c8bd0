"""Leaving the app while training runs in its own process: stop it, or leave it running."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class QuitScreen(ModalScreen[str | None]):
    """Dismissed with "stop", "leave" or None (stay)."""

    BINDINGS = [
        Binding("s", "choose('stop')", "Stop training"),
        Binding("q", "choose('stop')", "Stop training", show=False),  # q twice: save and quit, as always
        Binding("l", "choose('leave')", "Leave running"),
        Binding("escape", "choose(None)", "Stay"),
    ]
    DEFAULT_CSS = """
    QuitScreen { align: center middle; }
    QuitScreen > Vertical { width: 64; max-width: 100%; height: auto; background: $surface;
                            border: round $warning; padding: 0 1; }
    QuitScreen #quit-note { color: $text-muted; margin-top: 1; }
    """

    def __init__(self, run_name: str | None = None) -> None:
        super().__init__()
        self.run_name = run_name

    def compose(self) -> ComposeResult:
        name = self.run_name or "RUN"
        table = Table.grid(padding=(0, 2))
        table.add_column(no_wrap=True, style="bold")
        table.add_column()
        table.add_row(Text("s"), Text("stop training: save the run and quit"))
        table.add_row(Text("l"), Text("leave it running and quit"))
        table.add_row(Text("esc"), Text("stay"))
        with Vertical() as box:
            box.border_title = "quit: the training runs in its own process"
            yield Static(table, id="quit-choices")
            # The command on a line of its own: a long run name never splits it.
            note = Text("left running, this comes back to it:\n", style="italic")
            note.append(f"rnn-tui attach {name}", style="not italic bold")
            yield Static(note, id="quit-note")

    def action_choose(self, choice: str | None) -> None:
        self.dismiss(choice)

"""Small questions: yes or no (a delete), and one line of text (a new name)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

BOX_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{ width: 64; max-width: 100%; height: auto; background: $surface;
                     border: round $warning; padding: 0 1; }}
{name} .note {{ color: $text-muted; }}
"""


class ConfirmScreen(ModalScreen[bool]):
    """Dismissed with True (y) or False (n, Esc)."""

    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n,escape", "answer(False)", "No")]
    DEFAULT_CSS = BOX_CSS.format(name="ConfirmScreen")

    def __init__(self, question: str, note: str = "") -> None:
        super().__init__()
        self.question, self.note = question, note

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "are you sure?"
            yield Static(Text(self.question, style="bold"))
            if self.note:
                yield Static(Text(self.note), classes="note")
            yield Static(Text("y: yes    n or esc: no", style="italic"), classes="note")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class AskScreen(ModalScreen[str | None]):
    """One line of text; Enter answers it, Esc answers None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = BOX_CSS.format(name="AskScreen")

    def __init__(self, question: str, value: str = "") -> None:
        super().__init__()
        self.question, self.value = question, value

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "rename"
            yield Static(Text(self.question, style="bold"))
            yield Input(self.value, id="answer")
            yield Static(Text("enter: done    esc: cancel", style="italic"), classes="note")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)

"""A checkbox whose state reads in words and shapes, not only in colours.

Textual's Checkbox draws the same ``X`` on and off and tells them apart by
colour alone: in 16 colours, without colour or in plain text, off looks
ticked. This one says ``on`` / ``off`` in its label and leaves the box empty
when off.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import Checkbox


class OnOffCheckbox(Checkbox):
    def __init__(self, name_text: str, value: bool = False, **kwargs: Any) -> None:
        self.name_text = name_text
        super().__init__(self._label_for(value), value, **kwargs)

    def _label_for(self, value: bool) -> str:
        return f"{self.name_text} {'on' if value else 'off'}"

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]  # the box's glyph follows the value
        return "X" if self.value else " "

    def watch_value(self) -> None:
        super().watch_value()
        self.label = self._label_for(self.value)

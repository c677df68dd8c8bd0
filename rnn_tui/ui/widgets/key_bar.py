"""A footer that shows whole key entries only.

Textual's Footer cuts the last entry mid-word when the bindings do not fit
(`^t C▏`). KeyBar lays the entries out in order of importance (the focused
widget's, then the screen's, then the app's, as declared) and drops the ones
that do not fit whole; the way out and help are kept at the end, since help
lists the rest.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

# Always shown, last: how to leave, and the entry that leads to everything that was dropped.
KEEP = ("request_quit", "app.request_quit", "help", "app.help")


class KeyBar(Footer):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("compact", True)
        kwargs.setdefault("show_command_palette", False)
        super().__init__(**kwargs)
        self._composed_width = -1

    def entry_width(self, key_display: str, description: str) -> int:
        """Cells one entry takes: key, description and the gap after it (FooterKey's own CSS)."""
        if self.compact:
            return cell_len(key_display) + 1 + cell_len(description) + 1
        return 1 + cell_len(key_display) + 1 + cell_len(description) + 1

    def entries(self) -> list[tuple]:
        """(binding, enabled, tooltip) to show, one per action, in order of importance."""
        seen: set[str] = set()
        out = []
        for _node, binding, enabled, tooltip in self.screen.active_bindings.values():
            if binding.show and binding.action not in seen:
                seen.add(binding.action)
                out.append((binding, enabled, tooltip))
        kept = sorted((e for e in out if e[0].action in KEEP), key=lambda e: KEEP.index(e[0].action))
        return [e for e in out if e[0].action not in KEEP] + kept

    def fitting(self, width: int) -> list[tuple]:
        entries = self.entries()
        widths = [self.entry_width(self.app.get_key_display(b), b.description) for b, _, _ in entries]
        reserved = sum(w for (b, _, _), w in zip(entries, widths) if b.action in KEEP)
        chosen, used = [], reserved
        for entry, w in zip(entries, widths):
            if entry[0].action in KEEP:
                continue
            if used + w > width:
                break
            chosen.append(entry)
            used += w
        chosen += [e for e in entries if e[0].action in KEEP]
        return chosen

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        width = self.size.width or self.screen.size.width or self.app.size.width
        self._composed_width = width
        for binding, enabled, tooltip in self.fitting(width):
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip or binding.tooltip,
            ).data_bind(compact=Footer.compact)

    def on_resize(self) -> None:
        if self.size.width != self._composed_width and self._bindings_ready:
            self.call_after_refresh(self.recompose)

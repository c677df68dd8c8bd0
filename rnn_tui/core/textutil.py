"""Text as a terminal may show it: control characters made visible."""

from __future__ import annotations

_VISIBLE = {"\t": "\u2192", "\r": "\u240d", "\x1b": "\u241b", "\x7f": "\u2421"}


def visible_char(ch: str, newline: str = "\n") -> str:
    """One character as it should be drawn: never one that changes the terminal's state."""
    if ch == "\n":
        return newline
    code = ord(ch)
    if code < 32:
        return _VISIBLE.get(ch, chr(0x2400 + code))  # the Control Pictures block
    if 0x7F <= code <= 0x9F:
        return _VISIBLE.get(ch, "\ufffd")
    return ch


def visible(text: str, newline: str = "\n") -> str:
    if text.isascii() and text.isprintable():
        return text
    return "".join(visible_char(ch, newline) for ch in text)


def home_relative(path: str) -> str:
    """A path as a user would type it: the home folder as ``~`` (shorter lines, same meaning)."""
    import os

    home = os.path.expanduser("~")
    if home not in ("", "/") and (path == home or path.startswith(home + os.sep)):
        return "~" + path[len(home) :]
    return path

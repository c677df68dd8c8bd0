"""The words of the sampling screen: where its text came from, what is saved beside it, its hints.

A text made with ctrl+o is a list of segments (parts), each drawn from its own
weights step and seed; these functions title it, save it so that it can be
generated again, and lay hints out for a width. No Textual here: plain data in,
strings out.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.cells import cell_len

SEGMENT_SETTINGS = ("seed", "temperature", "top_k", "top_p", "greedy")  # what each segment's .json entry repeats


def segment(settings: dict[str, Any], step: int) -> dict[str, Any]:
    """A new segment's entry: the weights' step, the settings that draw it, and (so far) no characters."""
    return {"step": step, **{name: settings[name] for name in SEGMENT_SETTINGS}, "length": 0}


def text_label(segments: list[dict[str, Any]], weights_step: int | None, now: bool = True) -> str:
    """Where the text shown came from (its steps), and (with ``now``) the weights now if they moved on."""
    if weights_step is None:
        return "no weights yet"
    if not segments:
        return f"step {weights_step:,}"
    steps = [part["step"] for part in segments]
    moved_on = steps[-1] != weights_step
    later = f" \u00b7 weights now step {weights_step:,}" if moved_on and now else ""
    if len(segments) == 1:
        return f"text from step {steps[0]:,}{later}" if moved_on else f"step {weights_step:,}"
    low, high = min(steps), max(steps)
    where = f"step {low:,}" if low == high else f"steps {low:,}\u2013{high:,}"
    chars = sum(part["length"] for part in segments)
    return f"{chars:,} chars in {len(segments)} parts from {where}{later}"


def saved_settings(segments: list[dict[str, Any]], run_name: str | None) -> dict[str, Any]:
    """The .json beside a saved text: enough to generate that text again."""
    return {
        "run": run_name,
        "characters": sum(part["length"] for part in segments),
        "segments": segments,
        "how": (
            "generate each segment in turn with its weights step and settings: the first from its prime, "
            "each later one primed with all the text before it; length is the characters it produced"
        ),
    }


def join_phrases(phrases: Sequence[str], width: int, separator: str = " \u00b7 ") -> str:
    """``phrases`` joined on lines of at most ``width`` cells, broken only between phrases."""
    lines: list[str] = []
    line = ""
    for phrase in phrases:
        joined = f"{line}{separator}{phrase}" if line else phrase
        if line and cell_len(joined) > width:
            lines.append(line)
            line = phrase
        else:
            line = joined
    return "\n".join([*lines, line])


def saved_message(saved: Path, width: int) -> str:
    """Two lines that fit ``width``: the file inside its run folder, then the folder (with ``~``, or its name)."""
    from rnn_tui.core.textutil import home_relative

    folder = saved.parent.parent if saved.parent.name == "samples" else saved.parent
    first = f"saved {saved.relative_to(folder)} and .json (the settings)"
    where = f"in the run folder {home_relative(str(folder))}"
    if len(where) > width:
        where = f"in the run folder {folder.name}"
    return f"{first}\n{where}"

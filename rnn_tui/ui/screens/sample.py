"""Interactive sampling from the latest weights snapshot (or a saved run).

Generation runs in its own thread worker and posts characters in batches
(every ~50 ms), so the screen redraws a few times a second, never per char,
and training (if any) never pauses.

The prime, settings and text are kept per app (``kept_state``), so leaving the
screen and coming back finds them as they were.

Continuing (ctrl+o) makes the text out of segments, each from its own weights
step and seed; the title and the saved .json list them all, so the text can be
generated again exactly.
"""

from __future__ import annotations

import json
import time
import weakref
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label, Static
from textual.worker import Worker, get_current_worker

from rnn_tui.ui.host import HostedScreen, host
from rnn_tui.ui.screens.sample_parts import join_phrases, saved_message, saved_settings, segment, text_label
from rnn_tui.ui.widgets.colour import legend
from rnn_tui.ui.widgets.key_bar import KeyBar
from rnn_tui.ui.widgets.on_off import OnOffCheckbox
from rnn_tui.ui.widgets.sample_output import SampleOutput
from rnn_tui.ui.widgets.text_layout import visible_whitespace

if TYPE_CHECKING:
    from rnn_tui.core.events import Snapshot
    from rnn_tui.core.sampling import Token

BATCH_SECONDS = 0.05
FIELDS = ("prime", "length", "temperature", "top_k", "top_p", "seed")
HINT = ("type a prime and press Enter", "Esc stops", "ctrl+o continues", "ctrl+r new seed", "F1 help", "ctrl+q quits")

InfoMessage = str | Sequence[str] | Callable[[int], str]  # a line, phrases, or lines written for a width

_KEPT: weakref.WeakKeyDictionary[App, dict[str, Any]] = weakref.WeakKeyDictionary()


def kept_state(app: App) -> dict[str, Any]:
    """What the sampling screen leaves behind in this app for the run it shows: field values, the text,
    the view (per run: another run's text never comes back under these weights)."""
    runs = _KEPT.setdefault(app, {})
    return runs.setdefault(str(getattr(app, "run_name", None) or ""), {})


class SampleScreen(HostedScreen):
    BINDINGS = [
        Binding("escape", "stop_or_back", "Stop/Back"),
        Binding("ctrl+g", "generate", "Generate"),
        Binding("ctrl+o", "continue", "Continue"),
        Binding("ctrl+r", "reseed", "New seed"),
        Binding("ctrl+s", "save", "Save"),
        Binding("ctrl+t", "confidence", "Confidence"),
        Binding("ctrl+left", "cursor(-1)", "Inspect", show=False, priority=True),
        Binding("ctrl+right", "cursor(1)", "Inspect", show=False, priority=True),
        Binding("pageup", "page(-1)", "Scroll up", show=False),
        Binding("pagedown", "page(1)", "Scroll down", show=False),
        Binding("ctrl+home", "edge(0)", "Output start", show=False),
        Binding("ctrl+end", "edge(1)", "Output end", show=False),
    ]
    DEFAULT_CSS = """
    SampleScreen .field-row { height: 1; margin: 0 1; }
    SampleScreen .field-row Label { padding: 0 1 0 0; }
    SampleScreen .field-row Input { margin-right: 2; }
    SampleScreen #prime { width: 1fr; }
    SampleScreen #length { width: 9; margin-right: 0; }
    SampleScreen #temperature { width: 6; }
    SampleScreen #top_k, SampleScreen #top_p { width: 6; }
    SampleScreen #seed { width: 10; margin-right: 1; }
    SampleScreen #greedy, SampleScreen #greedy:focus { border: none; padding: 0; height: 1; }
    SampleScreen #sample-info { height: 2; padding: 0 1; }
    """

    class Tokens(Message):
        """A batch of generated characters (the generating worker's output, every BATCH_SECONDS)."""

        def __init__(self, run_id: int, tokens: list[Token], done: bool) -> None:
            super().__init__()
            self.run_id, self.tokens, self.done = run_id, tokens, done

    def __init__(self, settings: dict | None = None) -> None:
        super().__init__()
        self.initial = settings or {}
        self.run_id = 0
        self.running = False
        self.saved_text = ""  # what ctrl+s last wrote: leaving the viewer asks before losing anything newer
        # The text's segments: the first generated from the prime, each later one continuing all before it.
        self.segments: list[dict[str, Any]] = []
        self._info: tuple[InfoMessage, str] = ("", "")  # the message shown, laid out again on a resize
        self._restored = False  # nothing is remembered before the kept state is back on screen

    def compose(self) -> ComposeResult:
        s = self.initial
        fields = kept_state(self.app).get("fields") or {
            "prime": s.get("prime", ""),
            "length": str(s.get("length", 500)),
            "temperature": str(s.get("temperature", 0.8)),
            "top_k": "" if s.get("top_k") is None else str(s["top_k"]),
            "top_p": "" if s.get("top_p") is None else str(s["top_p"]),
            "seed": str(s.get("seed", 1)),
            "greedy": bool(s.get("greedy", False)),
        }
        with Horizontal(classes="field-row"):
            yield Label("prime")
            yield Input(fields["prime"], placeholder="text to start from (Enter generates)", id="prime", compact=True)
            yield Label("length")
            yield Input(fields["length"], id="length", compact=True)
        with Horizontal(classes="field-row"):
            yield Label("temperature")
            yield Input(fields["temperature"], id="temperature", compact=True)
            yield Label("top-k")
            yield Input(fields["top_k"], placeholder="off", id="top_k", compact=True)
            yield Label("top-p")
            yield Input(fields["top_p"], placeholder="off", id="top_p", compact=True)
            yield Label("seed")
            yield Input(fields["seed"], placeholder="none", id="seed", compact=True)
            yield OnOffCheckbox("greedy", fields["greedy"], id="greedy", compact=True)
        yield SampleOutput(id="output", classes="pane")
        yield Static("", id="sample-info")
        yield KeyBar()

    def on_mount(self) -> None:
        kept = kept_state(self.app)
        output = self.query_one(SampleOutput)
        if kept.get("prime_text") is not None:
            output.reset(kept["prime_text"], kept.get("tokens", ()))
            output.confidence = kept.get("confidence", False)
            self.segments = kept.get("segments") or []
            self._show_legend()
            self.info(kept.get("info") or "")
        else:
            self.info(HINT)
        output.border_title = self._weights_label()
        self.query_one("#prime", Input).focus()
        self._restored = True
        host(self).request_snapshot()  # sample from the newest weights, not those of the last look

    def _weights_label(self) -> str:
        """Which weights this screen samples from (the run and its step), and those of the text shown.

        The longest of these that fits the box's top edge: the steps matter more than the run's name.
        """
        snapshot = host(self).latest_snapshot
        name = host(self).run_name
        step = snapshot.step if snapshot is not None else None
        label = text_label(self.segments, step)
        labels = [label, text_label(self.segments, step, now=False)]
        if name:
            labels.insert(0, f"{name} \u00b7 {label}" if len(self.segments) > 1 else f"{name} @ {label}")
        room = self.query_one(SampleOutput).size.width - 6  # corners, and a space either side of the title
        return next((text for text in labels if cell_len(text) <= room), labels[-1]) if room > 0 else labels[0]

    def snapshot_arrived(self, snapshot: Snapshot) -> None:
        if not self.running:
            self.query_one(SampleOutput).border_title = self._weights_label()

    def info(self, message: InfoMessage, style: str = "") -> None:
        """Show ``message``: a sequence of phrases is broken into lines between phrases only; a function
        of the width writes lines that fit it."""
        box = self.query_one("#sample-info", Static)
        width = max(20, box.content_region.width or self.app.size.width - 2)  # before the first layout: the screen's
        if isinstance(message, str):
            text = message
        elif callable(message):
            text = message(width)
        else:
            text = join_phrases(message, width)
        box.update(Text(text, style=style))
        self._info = (message, style)
        kept_state(self.app)["info"] = message

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit_to_width)

    def _fit_to_width(self) -> None:
        self.info(*self._info)
        self.query_one(SampleOutput).border_title = self._weights_label()

    # ---- what is kept between visits -----------------------------------------
    def _remember(self) -> None:
        if not self._restored:
            return
        kept = kept_state(self.app)
        fields: dict[str, str | bool] = {name: self.query_one(f"#{name}", Input).value for name in FIELDS}
        fields["greedy"] = self.query_one("#greedy", OnOffCheckbox).value
        output = self.query_one(SampleOutput)
        kept.update(
            fields=fields,
            prime_text=output.prime,
            tokens=output.tokens,
            confidence=output.confidence,
            segments=self.segments,
        )

    def on_input_changed(self, event: Input.Changed) -> None:
        self._remember()

    def on_checkbox_changed(self, event: OnOffCheckbox.Changed) -> None:
        self._remember()

    # ---- settings -----------------------------------------------------------
    def read_settings(self, prime: str | None = None) -> dict[str, Any] | None:
        """The settings on screen, validated; ``prime`` replaces the prime input's text."""
        from rnn_tui.core.config import SampleConfig
        from rnn_tui.core.errors import UserError

        def value(name: str, kind: type) -> Any:
            text = self.query_one(f"#{name}", Input).value.strip()
            if not text:
                return None
            try:
                return kind(text)
            except ValueError:
                raise UserError(f"{name.replace('_', '-')}: {text!r} is not a number") from None

        try:
            temperature = value("temperature", float)
            settings = dict(
                prime=self.query_one("#prime", Input).value if prime is None else prime,
                temperature=0.8 if temperature is None else temperature,
                top_k=value("top_k", int),
                top_p=value("top_p", float),
                length=value("length", int) or 500,
                seed=value("seed", int),
                greedy=self.query_one("#greedy", OnOffCheckbox).value,
            )
            SampleConfig(**settings).validated()
        except UserError as exc:
            self.info(str(exc), "bold red")
            return None
        snapshot = host(self).latest_snapshot
        if snapshot is not None:
            missing = [ch for ch in dict.fromkeys(settings["prime"]) if ch not in snapshot.vocab]
            if missing:
                from rnn_tui.core.corpus import describe_chars

                self.info(
                    f"not in the model's vocabulary: {describe_chars(missing)}; remove them to generate", "bold red"
                )
                self.query_one("#prime", Input).add_class("-invalid")
                return None
        self.query_one("#prime", Input).remove_class("-invalid")
        return settings

    # ---- generation -------------------------------------------------------------
    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_generate()

    def action_generate(self) -> None:
        settings = self.read_settings()
        snapshot = host(self).latest_snapshot
        if settings is None or snapshot is None:
            return
        self.query_one(SampleOutput).reset(settings["prime"])
        self.segments = []
        self._start(
            snapshot,
            settings,
            segment(settings, snapshot.step),
            f"generating from the weights at step {snapshot.step:,}\u2026 (Esc stops)",
        )

    def _start(self, snapshot: Snapshot, settings: dict[str, Any], part: dict[str, Any], message: str) -> None:
        """Start generating (the worker group is exclusive: one in flight stops) the text's next segment ``part``."""
        self.run_id += 1
        self.running = True
        if self.segments and not self.segments[-1]["length"]:
            self.segments.pop()  # stopped before its first character: nothing of it is in the text
        if not self.segments:
            part = {"prime": self.query_one(SampleOutput).prime, **part}
        self.segments.append(part)
        self.query_one(SampleOutput).border_title = self._weights_label()
        self._remember()
        self.info(message)
        self._generate(snapshot, settings, self.run_id)

    @work(thread=True, exclusive=True, group="sample", exit_on_error=False, description="generating text")
    def _generate(self, snapshot: Snapshot, settings: dict[str, Any], run_id: int) -> None:
        from rnn_tui.core.config import SampleConfig
        from rnn_tui.core.corpus import Vocab
        from rnn_tui.core.model import build_from_weights
        from rnn_tui.core.priority import lower_thread_priority
        from rnn_tui.core.sampling import LIVE_SAMPLING_RATE, generate, paced

        worker = get_current_worker()  # cancelled by Esc, by the next generation, or by leaving the screen
        model = build_from_weights(snapshot.config, snapshot.vocab, snapshot.weights)
        lower_thread_priority()  # the first characters come at once; then training keeps the CPU, this fills gaps
        vocab = Vocab(snapshot.vocab)
        cfg = SampleConfig(**settings)
        batch: list[Token] = []
        last = time.monotonic()
        rate = LIVE_SAMPLING_RATE if host(self).training_live else None  # leave the cores to training
        for token in paced(generate(model, vocab, cfg, top=5), rate):
            if worker.is_cancelled:
                break
            batch.append(token)
            now = time.monotonic()
            if now - last >= BATCH_SECONDS:
                self.post_message(self.Tokens(run_id, batch, False))
                batch, last = [], now
        self.post_message(self.Tokens(run_id, batch, True))

    def worker_failed(self, worker: Worker) -> None:
        self.running = False
        self.info(f"generating failed: {worker.error}", "bold red")

    def on_sample_screen_tokens(self, message: Tokens) -> None:
        if message.run_id != self.run_id:
            return
        output = self.query_one(SampleOutput)
        output.extend(message.tokens)
        self.segments[-1]["length"] += len(message.tokens)
        if len(self.segments) > 1:
            output.border_title = self._weights_label()  # the count of characters in it grows
        if message.done:
            self.running = False
            self._remember()
            self.info(
                (
                    f"{len(output.tokens):,} characters",
                    "ctrl+o continue",
                    "ctrl+\u2190/\u2192 inspect",
                    "pgup/pgdn scroll",
                )
            )

    def action_stop_or_back(self) -> None:
        if self.running:
            self.workers.cancel_group(self, "sample")
            self.running = False
            self._remember()
            self.info("stopped; ctrl+o continues from here")
            return
        host(self).pop_screen_or_exit()

    def action_continue(self) -> None:
        output = self.query_one(SampleOutput)
        if not output.tokens:
            self.action_generate()
            return
        # Re-prime with everything so far: the continuation follows from the whole text.
        settings = self.read_settings(prime=output.text)
        snapshot = host(self).latest_snapshot
        if settings is None or snapshot is None:
            return
        seed = (settings["seed"] or 0) + len(output.tokens)
        settings = dict(settings, seed=seed)
        output.following = True
        output.scroll_end(animate=False, x_axis=False)
        self._start(snapshot, settings, segment(settings, snapshot.step), "continuing\u2026 (Esc stops)")

    def action_reseed(self) -> None:
        box = self.query_one("#seed", Input)
        try:
            box.value = str(int(box.value or 0) + 1)
        except ValueError:
            box.value = "1"
        self.action_generate()

    def action_confidence(self) -> None:
        output = self.query_one(SampleOutput)
        output.confidence = not output.confidence
        self._show_legend()
        self._remember()

    def _show_legend(self) -> None:
        output = self.query_one(SampleOutput)
        output.border_subtitle = legend(False, "p(char) 0 ", " 1") if output.confidence else None

    def action_page(self, delta: int) -> None:
        output = self.query_one(SampleOutput)
        output.action_page_down() if delta > 0 else output.action_page_up()

    def action_edge(self, where: int) -> None:
        output = self.query_one(SampleOutput)
        if where:
            output.scroll_end(animate=False)
        else:
            output.scroll_home(animate=False)

    def action_cursor(self, delta: int) -> None:
        output = self.query_one(SampleOutput)
        if not output.tokens:
            return
        start = output.cursor if output.cursor >= 0 else len(output.tokens)
        output.cursor = max(0, min(len(output.tokens) - 1, start + delta))
        token = output.tokens[output.cursor]
        alternatives = "  ".join(f"{visible_whitespace(ch)} {p:.0%}" for ch, p in token.top)
        self.info(
            f"char {output.cursor:,}: {visible_whitespace(token.char)} p={token.prob:.2f} \u00b7 "
            f"model's top 5: {alternatives}"
        )

    @property
    def unsaved(self) -> bool:
        """Generated text that ctrl+s has not written (in the standalone viewer it goes with the app)."""
        output = self.query_one(SampleOutput)
        return bool(output.tokens) and output.text != self.saved_text

    def action_save(self) -> None:
        path = host(self).sample_save_dir()
        output = self.query_one(SampleOutput)
        if path is None or not output.tokens:
            self.info("nothing to save yet" if path else "no run folder to save into", "bold yellow")
            return
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        name = time.strftime("sample-%Y%m%d-%H%M%S")
        (path / f"{name}.txt").write_text(output.text, encoding="utf-8")
        self.saved_text = output.text
        (path / f"{name}.json").write_text(
            json.dumps(saved_settings(self.segments, host(self).run_name), indent=2, ensure_ascii=False),
            encoding="utf-8",
        )
        self.info(partial(saved_message, path / f"{name}.txt"), "green")

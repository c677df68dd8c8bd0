"""Interactive sampling from the latest weights snapshot (or a saved run).

Generation runs in its own thread worker and posts characters in batches
(every ~50 ms), so the screen redraws a few times a second, never per char,
and training (if any) never pauses.
"""

from __future__ import annotations

import json
import threading
import time

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Checkbox, Footer, Input, Label, Static

from rnn_tui.ui.widgets.sample_output import SampleOutput

BATCH_SECONDS = 0.05


class SampleScreen(Screen):
    BINDINGS = [
        Binding("escape", "stop_or_back", "Stop/Back"),
        Binding("ctrl+g", "generate", "Generate"),
        Binding("ctrl+o", "continue", "Continue"),
        Binding("ctrl+r", "reseed", "New seed"),
        Binding("ctrl+s", "save", "Save"),
        Binding("ctrl+t", "confidence", "Confidence"),
        Binding("ctrl+left", "cursor(-1)", "Cursor", show=False, priority=True),
        Binding("ctrl+right", "cursor(1)", "Cursor", show=False, priority=True),
    ]
    DEFAULT_CSS = """
    SampleScreen #settings { height: 3; }
    SampleScreen #settings Input { width: 1fr; }
    SampleScreen #settings Label { padding: 1 0 0 1; }
    SampleScreen #prime { margin: 0 0; }
    SampleScreen SampleOutput { border: round $primary; }
    SampleScreen #sample-info { height: 2; padding: 0 1; }
    """

    class Tokens(Message):
        def __init__(self, run_id: int, tokens: list, done: bool) -> None:
            super().__init__()
            self.run_id, self.tokens, self.done = run_id, tokens, done

    def __init__(self, settings: dict | None = None) -> None:
        super().__init__()
        self.initial = settings or {}
        self.stop_flag = threading.Event()
        self.run_id = 0
        self.running = False
        self.last_settings: dict | None = None

    def compose(self) -> ComposeResult:
        s = self.initial
        yield Input(value=s.get("prime", ""), placeholder="prime text (Enter generates)", id="prime")
        with Horizontal(id="settings"):
            yield Label("temp")
            yield Input(str(s.get("temperature", 0.8)), id="temperature")
            yield Label("top-k")
            yield Input("" if s.get("top_k") is None else str(s["top_k"]), placeholder="off", id="top_k")
            yield Label("top-p")
            yield Input("" if s.get("top_p") is None else str(s["top_p"]), placeholder="off", id="top_p")
            yield Label("len")
            yield Input(str(s.get("length", 500)), id="length")
            yield Label("seed")
            yield Input(str(s.get("seed", 1)), id="seed")
            yield Checkbox("greedy", bool(s.get("greedy", False)), id="greedy")
        yield SampleOutput(id="output")
        yield Static("", id="sample-info")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#prime", Input).focus()
        self.info("type a prime and press Enter; Esc stops; ctrl+o continues; ctrl+r new seed; ctrl+s saves")

    def info(self, message: str, style: str = "") -> None:
        self.query_one("#sample-info", Static).update(Text(message, style=style))

    # ---- settings -----------------------------------------------------------
    def read_settings(self, prime: str | None = None) -> dict | None:
        """The settings on screen, validated; ``prime`` replaces the prime input's text."""
        from rnn_tui.core.config import SampleConfig
        from rnn_tui.core.errors import UserError

        def value(name, kind):
            text = self.query_one(f"#{name}", Input).value.strip()
            if not text:
                return None
            try:
                return kind(text)
            except ValueError:
                raise UserError(f"{name.replace('_', '-')}: {text!r} is not a number") from None

        try:
            settings = dict(
                prime=self.query_one("#prime", Input).value if prime is None else prime,
                temperature=value("temperature", float) if value("temperature", float) is not None else 0.8,
                top_k=value("top_k", int), top_p=value("top_p", float),
                length=value("length", int) or 500, seed=value("seed", int),
                greedy=self.query_one("#greedy", Checkbox).value,
            )
            SampleConfig(**settings).validated()
        except UserError as exc:
            self.info(str(exc), "bold red")
            return None
        snapshot = self.app.latest_snapshot
        if snapshot is not None:
            missing = [ch for ch in dict.fromkeys(settings["prime"]) if ch not in snapshot.vocab]
            if missing:
                from rnn_tui.core.corpus import describe_chars

                self.info(f"not in the model's vocabulary: {describe_chars(missing)}; remove them to generate", "bold red")
                self.query_one("#prime", Input).add_class("-invalid")
                return None
        self.query_one("#prime", Input).remove_class("-invalid")
        return settings

    # ---- generation -------------------------------------------------------------
    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_generate()

    def action_generate(self) -> None:
        settings = self.read_settings()
        snapshot = self.app.latest_snapshot
        if settings is None or snapshot is None:
            return
        self.query_one(SampleOutput).reset(settings["prime"])
        self._start(snapshot, settings, dict(settings, step=snapshot.step),
                    f"generating from the weights at step {snapshot.step:,}\u2026 (Esc stops)")

    def _start(self, snapshot, settings: dict, record: dict, message: str) -> None:
        """Stop any generation in flight and start one; ``record`` is what ctrl+s saves beside the text."""
        self.stop_flag.set()
        self.stop_flag = threading.Event()
        self.run_id += 1
        self.running = True
        self.last_settings = record
        self.info(message)
        self._generate(snapshot, settings, self.run_id, self.stop_flag)

    @work(thread=True, group="sample", exit_on_error=False)
    def _generate(self, snapshot, settings, run_id, stop_flag) -> None:
        from rnn_tui.core.config import SampleConfig
        from rnn_tui.core.corpus import Vocab
        from rnn_tui.core.model import build_from_weights
        from rnn_tui.core.sampling import LIVE_SAMPLING_RATE, generate, paced

        from rnn_tui.core.priority import lower_thread_priority

        lower_thread_priority()  # training keeps the CPU; this fills the gaps
        model = build_from_weights(snapshot.config, snapshot.vocab, snapshot.weights)
        vocab = Vocab(snapshot.vocab)
        cfg = SampleConfig(**settings)
        batch, last = [], time.monotonic()
        rate = LIVE_SAMPLING_RATE if self.app.training_live else None  # leave the cores to training
        for token in paced(generate(model, vocab, cfg, top=5), rate):
            if stop_flag.is_set():
                break
            batch.append(token)
            now = time.monotonic()
            if now - last >= BATCH_SECONDS:
                self.post_message(self.Tokens(run_id, batch, False))
                batch, last = [], now
        self.post_message(self.Tokens(run_id, batch, True))

    def on_sample_screen_tokens(self, message: Tokens) -> None:
        if message.run_id != self.run_id:
            return
        output = self.query_one(SampleOutput)
        output.extend(message.tokens)
        if message.done:
            self.running = False
            self.info(f"{len(output.tokens):,} characters; ctrl+o continue, ctrl+r new seed, ctrl+s save, "
                      f"ctrl+t confidence, ctrl+\u2190/\u2192 inspect")

    def action_stop_or_back(self) -> None:
        if self.running:
            self.stop_flag.set()
            self.running = False
            self.info("stopped; ctrl+o continues from here")
            return
        self.app.pop_screen_or_exit()

    def action_continue(self) -> None:
        output = self.query_one(SampleOutput)
        if not output.tokens:
            self.action_generate()
            return
        # Re-prime with everything so far: the continuation follows from the whole text.
        settings = self.read_settings(prime=output.text)
        snapshot = self.app.latest_snapshot
        if settings is None or snapshot is None:
            return
        seed = (settings["seed"] or 0) + len(output.tokens)
        settings = dict(settings, seed=seed)
        record = dict(settings, prime=self.query_one("#prime", Input).value, step=snapshot.step, continued=True)
        self._start(snapshot, settings, record, "continuing\u2026 (Esc stops)")

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

    def action_cursor(self, delta: int) -> None:
        output = self.query_one(SampleOutput)
        if not output.tokens:
            return
        output.cursor = max(0, min(len(output.tokens) - 1, (output.cursor if output.cursor >= 0 else len(output.tokens)) + delta))
        token = output.tokens[output.cursor]
        from rnn_tui.core.textutil import visible

        alternatives = "  ".join(f"{visible(repr(ch)[1:-1]) or ' '} {p:.0%}" for ch, p in token.top)
        self.info(f"char {output.cursor}: {visible(repr(token.char))} p={token.prob:.2f}   model's top 5: {alternatives}")

    def action_save(self) -> None:
        path = self.app.sample_save_dir()
        output = self.query_one(SampleOutput)
        if path is None or not output.tokens:
            self.info("nothing to save yet" if path else "no run folder to save into", "bold yellow")
            return
        path.mkdir(parents=True, exist_ok=True)
        name = time.strftime("sample-%Y%m%d-%H%M%S")
        (path / f"{name}.txt").write_text(output.text, encoding="utf-8")
        (path / f"{name}.json").write_text(json.dumps(self.last_settings or {}, indent=2, ensure_ascii=False), encoding="utf-8")
        self.info(f"saved {path / (name + '.txt')} (settings in {name}.json)", "green")

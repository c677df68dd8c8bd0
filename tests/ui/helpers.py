import io
import time

import torch
from rich.console import Console

from rnn_tui.core import events as ev
from rnn_tui.core.corpus import Vocab
from rnn_tui.core.model import CharRNN


def plain(renderable, width=120) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, record=True)
    console.print(renderable)
    return console.export_text()


def snapshot(cell="lstm", layers=2, hidden=16, text="the quick brown fox [bold] 한국어 🙂\n", step=10):
    vocab = Vocab("".join(sorted(set(text))))
    torch.manual_seed(0)
    model = CharRNN(len(vocab), cell, 8, hidden, layers)
    config = {"cell": cell, "layers": layers, "hidden_size": hidden, "embed_size": 8}
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    return ev.Snapshot(step, config, vocab.chars, weights)


def started(**changes):
    base = dict(
        run_dir="/tmp/run",
        run_name="demo-run",
        config={"cell": "lstm", "layers": 2, "hidden_size": 256},
        parameters=812345,
        device="cpu",
        device_name="CPU, 2 threads",
        precision="bf16",
        vocab_size=65,
        train_chars=1000,
        val_chars=100,
        steps_per_epoch=100,
        start_step=0,
    )
    base.update(changes)
    return ev.Started(**base)


def progress(step, loss, **changes):
    base = dict(
        step=step,
        epoch=0,
        epoch_fraction=step / 100,
        losses=((step, loss),),
        chars_per_sec=54321.0,
        lr=2e-3,
        grad_norm=0.5,
        elapsed=10.0,
        eta=125.0,
        chars_seen=step * 100,
        skipped_steps=0,
    )
    base.update(changes)
    return ev.Progress(**base)


async def wait_for(pilot, condition, timeout=60.0):
    """Let the app run until ``condition()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await pilot.pause(0.05)


def screen_text(app) -> list[str]:
    """The rows of the app's screen as plain text, as a terminal would show them."""
    return ["".join(segment.text for segment in strip) for strip in app.screen._compositor.render_strips()]

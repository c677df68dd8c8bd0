"""The one-GPU path: a bare cuDNN loop vs the trainer, side by side, on one card.

    python bench/gpu.py                 # about three minutes on one H100 / H200
    python bench/gpu.py --dry-run       # the same code on the CPU, tiny sizes: checks the script

For 2x512 and 3x1024 LSTMs at batch 128 and 512, fp32 and bf16: chars/s of a bare loop (data on
the device, fused AdamW, no per-step sync) and of ``Trainer`` on the same model and data, their
ratio (goal >= 0.97) and peak memory. Two more columns say what the trainer's choices cost or win:
``checked`` is the trainer checking each step for NaN/Inf at once (one wait for the device per step;
the default on a GPU reads the check back once per report), ``compile`` is ``--compile`` (measured on
the rows named in COMPILE_ROWS: each compilation takes tens of seconds). Prints a Markdown table for
BENCHMARKS.md with the card named.
"""

from __future__ import annotations

import argparse
import os
import queue
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CORPUS = REPO / "rnn_tui" / "data" / "shakespeare_tragedies.txt"
SEQ = 128
COMPILE_ROWS = {(2, 512, 128, "bf16"), (3, 1024, 512, "bf16")}


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def peak(device):
    return torch.cuda.max_memory_allocated() if device.type == "cuda" else 0


def reset_peak(device):
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def bare(corpus, layers, hidden, batch, amp, device, warmup, steps):
    from rnn_tui.core.batches import Streams
    from rnn_tui.core.model import CharRNN, detach_state

    torch.manual_seed(0)
    model = CharRNN(len(corpus.vocab), "lstm", 64, hidden, layers, 0.1).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01, fused=True)
    streams = Streams(corpus.train, batch, SEQ, device)
    state = None
    reset_peak(device)
    for step in range(warmup + steps):
        if step == warmup:
            sync(device)
            t0 = time.perf_counter()
        x, y = streams.batch(step % streams.chunks_per_epoch)
        with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
            logits, state = model(x, state)
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        state = detach_state(state)
    sync(device)
    return steps * batch * SEQ / (time.perf_counter() - t0), peak(device)


def ours(layers, hidden, batch, precision, device, warmup, steps, defer=None, compile=False):
    from rnn_tui.core.session import prepare
    from rnn_tui.core.trainer import Trainer

    os.environ["RNN_TUI_HOME"] = tempfile.mkdtemp()
    p = prepare(
        str(CORPUS),
        dict(
            layers=layers,
            hidden_size=hidden,
            batch_size=batch,
            precision=precision,
            max_steps=warmup + steps + 1,
            sample_every=0,
            save_every=0,
            eval_every=10**9,
            device=str(device),
            compile=compile,
            threads=None if device.type == "cuda" else 2,
        ),
    )
    trainer = Trainer(p.config, p.corpus, p.run)
    trainer.defer_checks = defer
    marks = {}

    def hook(step):  # called before each step: warmup..warmup+steps brackets `steps` whole steps
        if step in (warmup, warmup + steps):
            sync(device)
            marks[step] = time.perf_counter()

    trainer.step_hook = hook
    reset_peak(device)
    try:
        result = trainer.run(lambda e: None, queue.Queue())
    finally:
        p.lock.release()
    if getattr(result, "message", None):
        raise RuntimeError(result.message)
    return steps * batch * SEQ / (marks[warmup + steps] - marks[warmup]), peak(device)


def main():
    from rnn_tui.core.corpus import load_corpus

    parser = argparse.ArgumentParser()
    parser.add_argument("--dry-run", action="store_true", help="CPU, tiny sizes: check the script runs")
    parser.add_argument("--window", type=float, default=2.5, help="seconds per timed window")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--no-compile", action="store_true")
    args = parser.parse_args()
    if args.dry_run:
        device, shapes, batches, window = torch.device("cpu"), ((1, 32), (2, 48)), (8, 16), 0.3
        compile_rows = {(1, 32, 8, "bf16")}
    else:
        assert torch.cuda.is_available(), "bench/gpu.py needs a CUDA GPU (or --dry-run)"
        device, shapes, batches, window = torch.device("cuda"), ((2, 512), (3, 1024)), (128, 512), args.window
        compile_rows = set() if args.no_compile else COMPILE_ROWS
    warmup = args.warmup
    corpus = load_corpus(CORPUS)
    card = torch.cuda.get_device_name() if device.type == "cuda" else "CPU (dry run)"
    print(
        f"{card} | torch {torch.__version__} | {time.strftime('%Y-%m-%d')} | windows of ~{window:g} s after "
        f"{warmup} warm-up steps, bare and ours interleaved (bare, ours, ours, bare), medians | seq {SEQ}\n",
        flush=True,
    )
    print(
        "| model | batch | precision | bare chars/s | ours chars/s | ratio | checked each step | compile | bare GiB "
        "| ours GiB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|", flush=True)
    for layers, hidden in shapes:
        for batch in batches:
            for name, amp in (("fp32", None), ("bf16", torch.bfloat16)):
                probe, _ = bare(corpus, layers, hidden, batch, amp, device, 3, 5)
                steps = max(5, int(window * probe / (batch * SEQ)))
                b1, b_mem = bare(corpus, layers, hidden, batch, amp, device, warmup, steps)
                o1, o_mem = ours(layers, hidden, batch, name, device, warmup, steps)
                o2, _ = ours(layers, hidden, batch, name, device, warmup, steps)
                b2, _ = bare(corpus, layers, hidden, batch, amp, device, warmup, steps)
                c_rate, _ = ours(layers, hidden, batch, name, device, warmup, steps, defer=False)
                b_rate, o_rate = (b1 + b2) / 2, (o1 + o2) / 2
                compiled = "-"
                if (layers, hidden, batch, name) in compile_rows:
                    try:
                        t0 = time.perf_counter()
                        k_rate, _ = ours(layers, hidden, batch, name, device, warmup, steps, compile=True)
                        compiled = f"{k_rate / o_rate:.3f}x ({time.perf_counter() - t0:.0f} s)"
                    except Exception as exc:  # noqa: BLE001 - a bench reports what failed and goes on
                        compiled = f"failed: {type(exc).__name__}: {str(exc)[:60]}"
                spread = f"{min(o1, o2) / max(b1, b2):.3f}-{max(o1, o2) / min(b1, b2):.3f}"
                print(
                    f"| LSTM {layers}x{hidden} | {batch} | {name} | {b_rate:,.0f} | {o_rate:,.0f} | "
                    f"{o_rate / b_rate:.3f} ({spread}) | {c_rate / b_rate:.3f} | {compiled} | {b_mem / 2**30:.2f} | "
                    f"{o_mem / 2**30:.2f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()

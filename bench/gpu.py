"""The one-GPU path: a bare cuDNN loop vs the trainer, side by side, on one card.

    python bench/gpu.py            # a few minutes on one H100

For 2x512 and 3x1024 LSTMs at batch 128 and 512, fp32 and bf16: chars/s of a bare loop (data on
the device, fused AdamW, no per-step sync) and of ``Trainer`` on the same model and data, their
ratio (goal >= 0.97) and peak memory. Prints a Markdown table for BENCHMARKS.md with the card named.
"""

from __future__ import annotations

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
STEPS = 60
WARMUP = 10


def bare(corpus, layers, hidden, batch, amp):
    from rnn_tui.core.batches import Streams
    from rnn_tui.core.model import CharRNN, detach_state

    device = torch.device("cuda")
    torch.manual_seed(0)
    model = CharRNN(len(corpus.vocab), "lstm", 64, hidden, layers, 0.1).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01, fused=True)
    streams = Streams(corpus.train, batch, 128, device)
    state = None
    torch.cuda.reset_peak_memory_stats()
    for step in range(WARMUP + STEPS):
        if step == WARMUP:
            torch.cuda.synchronize()
            t0 = time.perf_counter()
        x, y = streams.batch(step % streams.chunks_per_epoch)
        with torch.autocast("cuda", dtype=amp or torch.float32, enabled=amp is not None):
            logits, state = model(x, state)
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        state = detach_state(state)
    torch.cuda.synchronize()
    return STEPS * batch * 128 / (time.perf_counter() - t0), torch.cuda.max_memory_allocated()


def ours(corpus_path, layers, hidden, batch, precision):
    from rnn_tui.core.session import prepare
    from rnn_tui.core.trainer import Trainer

    os.environ["RNN_TUI_HOME"] = tempfile.mkdtemp()
    p = prepare(str(corpus_path), dict(layers=layers, hidden_size=hidden, batch_size=batch, precision=precision,
                                       max_steps=WARMUP + STEPS, sample_every=0, save_every=0, eval_every=10**9,
                                       device="cuda"))
    trainer = Trainer(p.config, p.corpus, p.run)
    marks = {}

    def hook(step):
        if step in (WARMUP, WARMUP + STEPS - 1):
            torch.cuda.synchronize()
            marks[step] = time.perf_counter()

    trainer.step_hook = hook
    torch.cuda.reset_peak_memory_stats()
    trainer.run(lambda e: None, queue.Queue())
    p.lock.release()
    return (STEPS - 1) * batch * 128 / (marks[WARMUP + STEPS - 1] - marks[WARMUP]), torch.cuda.max_memory_allocated()


def main():
    from rnn_tui.core.corpus import load_corpus

    assert torch.cuda.is_available(), "bench/gpu.py needs a CUDA GPU"
    corpus = load_corpus(CORPUS)
    print(f"{torch.cuda.get_device_name()} | torch {torch.__version__} | {time.strftime('%Y-%m-%d')}\n")
    print("| model | batch | precision | bare chars/s | ours chars/s | ratio | bare GiB | ours GiB |")
    print("|---|---|---|---|---|---|---|---|")
    for layers, hidden in ((2, 512), (3, 1024)):
        for batch in (128, 512):
            for name, amp in (("fp32", None), ("bf16", torch.bfloat16)):
                b_rate, b_mem = bare(corpus, layers, hidden, batch, amp)
                o_rate, o_mem = ours(CORPUS, layers, hidden, batch, name)
                print(f"| LSTM {layers}x{hidden} | {batch} | {name} | {b_rate:,.0f} | {o_rate:,.0f} | "
                      f"{o_rate / b_rate:.3f} | {b_mem / 2**30:.2f} | {o_mem / 2**30:.2f} |", flush=True)


if __name__ == "__main__":
    main()

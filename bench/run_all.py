"""Benchmarks that print ratios measured side by side in one run.

    python bench/run_all.py --quick     # a few minutes on a 2-core CPU
    python bench/run_all.py             # more cells and sizes, a 100 MB ingest

Never run by the tests; results are recorded in BENCHMARKS.md by hand with the date and machine.
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CORPUS = REPO / "rnn_tui" / "data" / "shakespeare_tragedies.txt"
PLAYS = REPO.parent / "shared" / "corpora" / "shakespeare_plays.txt"


def bare_loop_rate(cell, layers, hidden, steps, amp=None, batch=64, seq=128):
    """chars/s of a plain PyTorch loop: the same model, data layout and optimizer as the trainer."""
    import torch
    import torch.nn.functional as F

    from rnn_tui.core.batches import Streams
    from rnn_tui.core.corpus import load_corpus
    from rnn_tui.core.model import CharRNN, detach_state

    corpus = load_corpus(CORPUS)
    torch.manual_seed(0)
    model = CharRNN(len(corpus.vocab), cell, 64, hidden, layers, 0.1)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01)
    streams = Streams(corpus.train, batch, seq, torch.device("cpu"))
    state = None
    t0 = None
    for step in range(steps + 3):
        if step == 3:
            t0 = time.perf_counter()
        x, y = streams.batch(step % streams.chunks_per_epoch)
        with torch.autocast("cpu", dtype=amp or torch.float32, enabled=amp is not None):
            logits, state = model(x, state)
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        state = detach_state(state)
        loss.item()
    return steps * batch * seq / (time.perf_counter() - t0)


def trainer_rate(cell, layers, hidden, steps, precision="fp32", batch=64, seq=128):
    from rnn_tui.core import events as ev
    from rnn_tui.core.session import prepare
    from rnn_tui.core.trainer import Trainer

    os.environ["RNN_TUI_HOME"] = tempfile.mkdtemp()
    p = prepare(
        str(CORPUS),
        dict(
            cell=cell,
            layers=layers,
            hidden_size=hidden,
            max_steps=steps + 3,
            precision=precision,
            batch_size=batch,
            seq_len=seq,
            sample_every=0,
            save_every=0,
            eval_every=10**9,
        ),
    )
    trainer = Trainer(p.config, p.corpus, p.run)
    times = {}

    def sink(e):
        if isinstance(e, ev.Progress) and e.losses:
            for s, _ in e.losses:
                times.setdefault(s, time.perf_counter())

    def hook(step):
        if step in (3, steps + 3 - 1):
            times[f"at{step}"] = time.perf_counter()

    trainer.step_hook = hook
    trainer.run(sink, queue.Queue())
    p.lock.release()
    elapsed = times[f"at{steps + 2}"] - times["at3"]
    return (steps - 1) * batch * seq / elapsed


def overhead(quick):
    import torch

    configs = [("lstm", 2, 256)] if quick else [(c, 2, h) for c in ("rnn", "lstm", "gru") for h in (256, 512)]
    steps = 15 if quick else 30
    print(f"\n1. trainer vs bare loop (fp32, batch 64, seq 128, {torch.get_num_threads()} threads)")
    for cell, layers, hidden in configs:
        bare, ours = [], []
        for _ in range(2):  # alternate to cancel drift
            bare.append(bare_loop_rate(cell, layers, hidden, steps))
            ours.append(trainer_rate(cell, layers, hidden, steps))
        b, o = max(bare), max(ours)
        print(f"   {cell} {layers}x{hidden}: bare {b:,.0f} chars/s, trainer {o:,.0f} chars/s, ratio {o / b:.3f}")


def precision(quick):
    import torch

    print("\n7. bf16 autocast vs fp32 (bare loop, LSTM 2 layers)")
    for hidden in (256,) if quick else (128, 256, 512):
        fp32 = bare_loop_rate("lstm", 2, hidden, 10)
        bf16 = bare_loop_rate("lstm", 2, hidden, 10, amp=torch.bfloat16)
        ours = trainer_rate("lstm", 2, hidden, 10, precision="auto")
        print(
            f"   2x{hidden}: fp32 {fp32:,.0f}, bf16 {bf16:,.0f} ({bf16 / fp32:.2f}x); trainer default {ours:,.0f} "
            f"({ours / fp32:.2f}x the bare fp32 loop)"
        )


def sampling_and_trace():
    import torch

    from rnn_tui.core.config import SampleConfig
    from rnn_tui.core.corpus import load_corpus
    from rnn_tui.core.gates import trace
    from rnn_tui.core.model import CharRNN
    from rnn_tui.core.sampling import sample_text

    corpus = load_corpus(CORPUS)
    torch.manual_seed(0)
    model = CharRNN(len(corpus.vocab), "lstm", 64, 256, 2).eval()
    sample_text(model, corpus.vocab, SampleConfig(length=200, seed=0))
    t0 = time.perf_counter()
    sample_text(model, corpus.vocab, SampleConfig(length=3000, seed=0))
    rate = 3000 / (time.perf_counter() - t0)
    print(f"\n5a. generation, 2x256 LSTM, one stream: {rate:,.0f} chars/s (goal >= 3,000)")
    big = CharRNN(len(corpus.vocab), "lstm", 64, 512, 2).eval()
    text = corpus.text(corpus.split_at, corpus.split_at + 2000)
    trace(big, corpus.vocab, text[:100])
    t0 = time.perf_counter()
    trace(big, corpus.vocab, text)
    print(f"5b. trace of 2,000 chars, 2x512 LSTM: {time.perf_counter() - t0:.3f} s (goal <= 0.5 s)")


def startup():
    env = dict(os.environ, PYTHONPATH=str(REPO))
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rnn_tui", "--help"], capture_output=True, env=env, check=True)
        runs.append(time.perf_counter() - t0)
    print(f"\n3. rnn-tui --help: {min(runs):.3f} s best of 5 (goal <= 0.3 s)")


def ingest(quick, accents=False):
    size_mb = 20 if quick else 100
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.txt"
        block = PLAYS.read_bytes()
        if accents:  # a few non-ASCII characters in every line, as in French or German text
            block = block.replace(b"e ", "\u00e9 ".encode()).replace(b"o ", "\u00f6 ".encode())
        with open(path, "wb") as fh:
            while fh.tell() < size_mb * 1_000_000:
                fh.write(block)
        code = (
            "import sys, time\n"
            f"sys.path.insert(0, {str(REPO)!r})\n"
            "import torch\n"
            "from rnn_tui.core.corpus import load_corpus\n"
            "def status(key):\n"
            "    for line in open('/proc/self/status'):\n"
            "        if line.startswith(key): return int(line.split()[1])\n"
            "open('/proc/self/clear_refs', 'w').write('5')  # reset the peak to what is resident now\n"
            "base = status('VmRSS:')\n"
            "t = time.perf_counter()\n"
            f"c = load_corpus({str(path)!r})\n"
            "d = time.perf_counter() - t\n"
            "print(d, status('VmHWM:') - base, c.n_chars, len(c.vocab))\n"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
        seconds, peak_kb = float(out[0]), int(out[1])
        mb = path.stat().st_size / 1e6
        print(
            f"\n4. ingest {mb:.0f} MB{' with non-ASCII' if accents else ''}: {seconds:.2f} s, peak RSS above the "
            f"interpreter {peak_kb / 1e3:.0f} MB = {peak_kb * 1e3 / path.stat().st_size:.2f}x the file (goals <= 3 "
            "s, <= 3x)"
        )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    import torch

    print(f"rnn-tui benchmarks, torch {torch.__version__}, {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}")
    startup()
    sampling_and_trace()
    ingest(args.quick)
    ingest(args.quick, accents=True)
    overhead(args.quick)
    precision(args.quick)
    sampling_slowdown()


def sampling_slowdown(phase_seconds: float = 8.0):
    """Training chars/s with and without an interactive sampler running beside it (alternating phases)."""
    import queue as queue_mod
    import threading

    from rnn_tui.core import events as ev
    from rnn_tui.core.config import SampleConfig
    from rnn_tui.core.corpus import Vocab
    from rnn_tui.core.model import build_from_weights
    from rnn_tui.core.priority import lower_thread_priority
    from rnn_tui.core.sampling import LIVE_SAMPLING_RATE, generate, paced
    from rnn_tui.core.session import prepare
    from rnn_tui.core.trainer import Trainer

    os.environ["RNN_TUI_HOME"] = tempfile.mkdtemp()
    p = prepare(str(CORPUS), dict(max_time=phase_seconds * 4 + 8, sample_every=0, save_every=0, eval_every=10**9))
    trainer = Trainer(p.config, p.corpus, p.run)
    rates = {"off": [], "on": []}
    phase = {"name": "warmup", "sampling": threading.Event(), "chars": 0}

    def sink(e):
        if isinstance(e, ev.Progress) and phase["name"] in rates:
            rates[phase["name"]].append(e.chars_per_sec)

    def sampler():
        lower_thread_priority()
        while not trainer.stop_requested.is_set():
            if not phase["sampling"].is_set() or trainer.latest_snapshot is None:
                time.sleep(0.05)
                continue
            snap = trainer.latest_snapshot
            model = build_from_weights(snap.config, snap.vocab, snap.weights)
            tokens = generate(model, Vocab(snap.vocab), SampleConfig(length=2000, seed=1), top=5)
            for _token in paced(tokens, LIVE_SAMPLING_RATE):  # as the sampling screen does while training
                phase["chars"] += 1
                if not phase["sampling"].is_set():
                    break

    worker = threading.Thread(target=trainer.run, args=(sink, queue_mod.Queue()))
    worker.start()
    threading.Thread(target=sampler, daemon=True).start()
    time.sleep(6)
    for name in ("off", "on", "off", "on"):
        phase["name"] = name
        if name == "on":
            phase["sampling"].set()
        else:
            phase["sampling"].clear()
        time.sleep(phase_seconds)
    phase["name"] = "done"
    phase["sampling"].clear()
    trainer.request_stop()
    worker.join()
    p.lock.release()
    off = statistics.median(rates["off"])
    on = statistics.median(rates["on"])
    sampled = phase["chars"] / (2 * phase_seconds)
    print(
        f"\n5c. training while sampling interactively: {on:,.0f} vs {off:,.0f} chars/s without "
        f"(slowdown {1 - on / off:.1%}, goal <= 5%); the sampler streamed {sampled:,.0f} chars/s meanwhile"
    )


def one_gigabyte():
    """A 1 GB corpus trains: build it, train 20 steps headless, report time and peak memory."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "huge.txt"
        block = PLAYS.read_bytes()
        with open(path, "wb") as fh:
            while fh.tell() < 1_000_000_000:
                fh.write(block)
        env = dict(os.environ, RNN_TUI_HOME=tmp, PYTHONPATH=str(REPO))
        t0 = time.perf_counter()
        proc = subprocess.run(
            [
                "/usr/bin/time",
                "-v",
                sys.executable,
                "-m",
                "rnn_tui",
                str(path),
                "--headless",
                "--max-steps",
                "20",
                "--hidden-size",
                "128",
                "--sample-every",
                "0",
                "--eval-chars",
                "100000",
            ],
            capture_output=True,
            text=True,
            env=env,
        )
        seconds = time.perf_counter() - t0
        peak = next(int(line.split()[-1]) for line in proc.stderr.splitlines() if "Maximum resident" in line)
        size = path.stat().st_size
        print(
            f"\n4b. 1 GB corpus ({size / 1e9:.2f} GB): exit {proc.returncode}, 20 steps trained in {seconds:.1f} s "
            f"end to end, peak RSS {peak / 1e6:.2f} GB = {peak * 1e3 / size:.2f}x the file"
        )
        print(
            "    " + "\n    ".join(line for line in proc.stdout.splitlines() if "reading" in line or "finished" in line)
        )


if __name__ == "__main__":
    main()

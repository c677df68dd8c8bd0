"""The non-training subcommands: sample, runs, trace. Plain output, pipe-friendly."""

from __future__ import annotations

import json
import shutil
import sys
import time


def load_model(ref: str, runs_dir: str | None):
    """(run, model, vocab, state) for a run name, run folder or checkpoint file."""
    from rnn_tui.core.corpus import Vocab
    from rnn_tui.core.model import build_from_weights
    from rnn_tui.core.paths import runs_dir as default_runs_dir
    from rnn_tui.core.runs import load_checkpoint, resolve_run

    run, path = resolve_run(ref, default_runs_dir(runs_dir))
    state = load_checkpoint(path)
    model = build_from_weights(state["config"], state["vocab"], state["model"])
    return run, model, Vocab(state["vocab"]), state


def sample(args: dict) -> int:
    from rnn_tui.core.config import SampleConfig
    from rnn_tui.core.sampling import generate

    options = {k: args[k] for k in ("prime", "length", "temperature", "top_k", "top_p", "seed", "greedy") if k in args}
    cfg = SampleConfig(**options).validated()
    if "length" not in args and sys.stdout.isatty() and sys.stdin.isatty():
        from rnn_tui.ui.launch import run_sample_app

        return run_sample_app(args["run"], args.get("runs_dir"), options)
    _, model, vocab, _ = load_model(args["run"], args.get("runs_dir"))
    out = sys.stdout
    buffer = []
    last = time.monotonic()
    for token in generate(model, vocab, cfg):
        buffer.append(token.char)
        now = time.monotonic()
        if now - last > 0.1:
            out.write("".join(buffer))
            out.flush()
            buffer, last = [], now
    out.write("".join(buffer))
    out.flush()
    return 0


def runs(args) -> int:
    from rnn_tui.core.errors import RunError
    from rnn_tui.core.paths import runs_dir as default_runs_dir
    from rnn_tui.core.runs import list_runs, resolve_run

    root = default_runs_dir(args.runs_dir)
    if args.action == "list":
        found = list_runs(root)
        if not found:
            print(f"no runs in {root} yet; start one with `rnn-tui CORPUS`", file=sys.stderr)
            return 0
        rows = [r.summary() for r in found]
        header = ("NAME", "CELL", "SIZE", "STEPS", "BEST VAL", "LAST CHANGE")
        table = [header] + [(
            r["name"], r["cell"], r["size"], str(r["steps"]),
            "-" if r["best_val_loss"] is None else f"{r['best_val_loss']:.4f}",
            "-" if r["last_change"] is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(r["last_change"])),
        ) for r in rows]
        widths = [max(len(row[i]) for row in table) for i in range(len(header))]
        for row in table:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        return 0
    if not args.run:
        raise RunError(f"`rnn-tui runs {args.action}` needs a RUN name")
    run, _ = resolve_run(args.run, root)
    if run is None:
        raise RunError(f"{args.run}: not a run folder")
    if args.action == "show":
        summary = run.summary()
        config = run.read_config()
        rows = run.read_metrics()
        print(f"run         {run.name}\nfolder      {run.path}")
        print(f"corpus      {config.get('corpus', {}).get('path')} ({config.get('corpus', {}).get('chars', 0):,} chars, "
              f"{config.get('corpus', {}).get('vocab_size')} symbols)")
        train = config.get("train", {})
        print("config      " + " ".join(f"{k}={v}" for k, v in sorted(train.items()) if v is not None))
        print(f"steps       {summary['steps']}")
        if rows:
            print(f"train loss  {rows[-1].get('train_loss', float('nan')):.4f} (last logged)")
        best = summary["best_val_loss"]
        print(f"best val    {'-' if best is None else f'{best:.4f}'}")
        for name in summary["checkpoints"]:
            path = run.path / name
            print(f"checkpoint  {path} ({path.stat().st_size / 1e6:.1f} MB)")
        return 0
    if args.action == "delete":
        if not args.yes:
            if not sys.stdin.isatty():
                raise RunError(f"refusing to delete {run.name} without confirmation; add --yes")
            answer = input(f"delete run {run.name} at {run.path}? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print("kept", file=sys.stderr)
                return 1
        shutil.rmtree(run.path)
        print(f"deleted {run.path}")
        return 0
    return 2


def trace(args) -> int:
    from pathlib import Path

    from rnn_tui.core.errors import UserError
    from rnn_tui.core.gates import trace as trace_text

    _, model, vocab, _ = load_model(args.run, args.runs_dir)
    if args.text is not None:
        text = args.text
    else:
        try:
            text = Path(args.text_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"--text-file {args.text_file}: cannot read it as UTF-8 text ({exc})") from None
    if not text:
        raise UserError("--text is empty; give at least one character")
    result = trace_text(model, vocab, text)
    json.dump(result.to_json(), sys.stdout, ensure_ascii=False, separators=(",", ":"))
    sys.stdout.write("\n")
    return 0


def run_text(run, length: int) -> str | None:
    """The start of a run's validation text, if its corpus is still where it was."""
    from rnn_tui.core.session import validation_text

    return validation_text(run.path, length) if run is not None else None


def gradflow(args) -> int:
    import torch

    from rnn_tui.core.errors import UserError
    from rnn_tui.core.gradflow import gradient_flow_for

    if args.length < 2 or args.length > 5000:
        raise UserError(f"--length must be between 2 and 5000 (got {args.length})")
    run, _, vocab, state = load_model(args.run, args.runs_dir)
    text = args.text if args.text is not None else run_text(run, args.length + 1)
    if not text or len(text) < 2:
        raise UserError("no text to measure on: the run's corpus is not where it was; pass --text")
    text = text[: args.length + 1]
    from rnn_tui.core.sampling import check_prime

    check_prime(vocab, text)
    ids = torch.tensor([vocab.index[ch] for ch in text])
    flow = gradient_flow_for(state["config"], state["vocab"], state["model"], ids)
    if args.json:
        json.dump(flow.to_json(), sys.stdout, separators=(",", ":"))
        sys.stdout.write("\n")
        return 0
    marks = [d for d in (0, 1, 2, 5, 10, 20, 50, 100, 200, 500) if d < len(flow.distance)]
    print(f"{flow.cell}: ||dL_T/dh_t|| by distance T-t (now | at initialisation)")
    print("distance " + " ".join(f"{'layer ' + str(k + 1):>21}" for k in range(len(flow.layers))))
    for d in marks:
        print(f"{d:>8} " + " ".join(f"{flow.at(d, k):>10.3e} | {flow.at(d, k, True):>8.2e}" for k in range(len(flow.layers))))
    return 0

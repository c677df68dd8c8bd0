"""The non-training subcommands: sample, runs, trace. Plain output, pipe-friendly."""

from __future__ import annotations

import json
import os
import sys
import time


def _out(text: str, stream=None) -> None:
    """Write to stdout; a full disk or a closed terminal is one line on stderr, never a traceback."""
    stream = stream or sys.stdout
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        raise  # the reader left (`| head`): the command line ends quietly
    except OSError as exc:
        from rnn_tui.core.errors import UserError

        try:  # what is still buffered must not fail again at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
        except (OSError, ValueError):
            pass
        raise UserError(
            f"cannot write the output ({exc.strerror or exc}); write it somewhere with free space"
        ) from None


def load_model(ref: str, runs_dir: str | None):
    """(run, model, vocab, state) for a run name, run folder or checkpoint file."""
    from rnn_tui.core.checkpoint import checked_state, load_checkpoint
    from rnn_tui.core.corpus import Vocab
    from rnn_tui.core.model import build_from_weights
    from rnn_tui.core.paths import runs_dir as default_runs_dir
    from rnn_tui.core.runs import resolve_run

    run, path = resolve_run(ref, default_runs_dir(runs_dir))
    state = checked_state(load_checkpoint(path), path)
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
    run, model, vocab, state = load_model(args["run"], args.get("runs_dir"))
    if sys.stdout.isatty():  # in a script stderr stays quiet; at a terminal, say what was loaded
        where = f"run {run.name}" if run is not None else args["run"]
        _out(f"rnn-tui: sampling {where} at step {state.get('step', 0):,}\n", sys.stderr)
    buffer = [cfg.prime] if "prime" in args else []  # the default prime (a newline) is only a start
    last = time.monotonic()
    ends_with_newline = True
    for token in generate(model, vocab, cfg):
        buffer.append(token.char)
        now = time.monotonic()
        if now - last > 0.1:
            chunk = "".join(buffer)
            _out(chunk)
            ends_with_newline = chunk.endswith("\n") if chunk else ends_with_newline
            buffer, last = [], now
    chunk = "".join(buffer)
    ends_with_newline = chunk.endswith("\n") if chunk else ends_with_newline
    _out(chunk + ("" if ends_with_newline else "\n"))
    return 0


def runs(args) -> int:
    from rnn_tui.core.errors import RunError
    from rnn_tui.core.paths import runs_dir as default_runs_dir
    from rnn_tui.core.runs import find_run

    root = default_runs_dir(args.runs_dir)
    if args.action == "list":
        return _list_runs(root)
    if not args.run:
        raise RunError(f"`rnn-tui runs {args.action}` needs a RUN (a name, a unique start of one, or `last`)")
    run = find_run(args.run, root, exact_only=args.action == "delete")  # a prefix never deletes
    if args.action == "show":
        return _show_run(run)
    if args.action == "delete":
        return _delete_run(run, args)
    return 2


def _list_runs(root) -> int:
    from rnn_tui.core.runs import list_runs

    if root.exists() and not root.is_dir():
        from rnn_tui.core.errors import RunError

        raise RunError(f"{root} is a file, not a runs folder; pass a folder with --runs-dir")
    found = list_runs(root)
    if not found:
        _out(f"no runs in {root} yet; start one with `rnn-tui CORPUS`\n", sys.stderr)
        return 0
    summaries = [r.summary() for r in found]
    width = _terminal_width()
    _out("".join(line + "\n" for line in run_table(summaries, width)))
    live = live_lines(found)
    if live:
        _out("".join(line + "\n" for line in ["", "training now:", *live]))
    for s in summaries:
        if s["problems"]:
            _out(
                f"rnn-tui: note: {_safe(s['name'])}: {'; '.join(s['problems'])} (`rnn-tui runs show "
                f"{_safe(s['name'])}`)\n",
                sys.stderr,
            )
    return 0


def live_lines(found) -> list[str]:
    """One line per run that trains now (PID, since when, steps/s). The run's lock is the proof:
    what a killed trainer left behind (live.json, live.sock) is removed here, never shown as live."""
    from rnn_tui.core.live import live_run, steps_per_second

    lines = []
    for run in found:
        live = live_run(run.path)
        if live is None:
            continue
        since = time.strftime("%m-%d %H:%M", time.localtime(live.started_at)) if live.started_at else "-"
        rate = steps_per_second(run.path)
        speed = f"{rate:,.1f} steps/s" if rate is not None else "- steps/s"
        how = f"rnn-tui attach {_safe(run.name)}" if live.socket is not None else "serves no viewers"
        lines.append(f"  {_safe(run.name)}  PID {live.pid or '?'}  since {since}  {speed}  ({how})")
    return lines


def _terminal_width() -> int | None:
    """The width to fit: the terminal's (or $COLUMNS); None when piped, so names stay whole for scripts."""
    import shutil

    if not (sys.stdout.isatty() or os.environ.get("COLUMNS")):
        return None
    return max(shutil.get_terminal_size((80, 24)).columns, 40)


def run_table(summaries: list[dict], width: int | None) -> list[str]:
    """The `rnn-tui runs` table, fitted to ``width``: a shorter date if that keeps names whole, else
    names cut in the middle (the start, which is what you type, and the end stay), then the least
    needed columns dropped."""
    header = ["NAME", "CELL", "SIZE", "STEPS", "BEST VAL", "LAST TRAINED"]
    layouts = [
        ("%Y-%m-%d %H:%M", (0, 1, 2, 3, 4, 5)),
        ("%m-%d %H:%M", (0, 1, 2, 3, 4, 5)),
        ("%m-%d %H:%M", (0, 1, 2, 3, 4)),
        ("%m-%d %H:%M", (0, 2, 3, 4)),
        ("%m-%d %H:%M", (0, 3, 4)),
    ]
    tables = []
    for stamp, columns in layouts:
        rows = [[row[c] for c in columns] for row in [header] + [_row(s, stamp) for s in summaries]]
        widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
        room = widths[0] if width is None else width - 1 - sum(widths[1:]) - 2 * (len(columns) - 1)
        tables.append((columns, rows, widths, room))
    whole = [t for t in tables[:2] if t[3] >= t[2][0]]
    readable = [t for t in tables if t[3] >= min(t[2][0], 20)]
    columns, rows, widths, room = (whole or readable or tables[-1:])[0]
    widths[0] = max(min(widths[0], room), 8)
    return [
        "  ".join(
            _cut_middle(cell, w) if c == 0 else cell.rjust(w) if c in (3, 4) else cell.ljust(w)
            for c, cell, w in zip(columns, row, widths)
        ).rstrip()
        for row in rows
    ]


def _row(s: dict, stamp: str) -> list[str]:
    damaged = s.get("damaged")
    return [
        _safe(s["name"]),
        "damaged" if damaged else _safe(s["cell"]),
        "-" if damaged else _safe(s["size"]),
        f"{s['steps']:,}",
        "-" if s["best_val_loss"] is None else f"{s['best_val_loss']:.4f}",
        "-" if s["last_change"] is None else time.strftime(stamp, time.localtime(s["last_change"])),
    ]


def _cut_middle(text: str, width: int) -> str:
    if len(text) <= width:
        return text.ljust(width)
    head = (width - 1) * 2 // 3
    return text[:head] + "…" + text[len(text) - (width - 1 - head) :]


def _safe(text) -> str:
    from rnn_tui.core.textutil import visible

    return visible(str(text), newline="\u23ce")


def _show_run(run) -> int:
    from rnn_tui.core.errors import RunError
    from rnn_tui.core.runs import lock_holder

    summary = run.summary()
    lines = [f"run         {_safe(run.name)}", f"folder      {_safe(run.path)}"]
    try:
        config = run.read_config()
    except RunError as exc:
        config = None
        lines.append(f"config      unreadable: {_safe(exc)}")
    if config is not None:
        corpus = config.get("corpus", {})
        chars = corpus.get("chars")
        size = f"{chars:,} chars, " if isinstance(chars, int) else ""
        lines.append(f"corpus      {_safe(corpus.get('path'))} ({size}{_safe(corpus.get('vocab_size'))} symbols)")
        train = config.get("train", {})
        items = [_safe(f"{k}={v}") for k, v in sorted(train.items()) if v is not None]
        width = max(40, (_terminal_width() or 100) - 12)  # the settings wrap between items, under one another
        rows = [""]
        for item in items:
            if rows[-1] and len(rows[-1]) + 1 + len(item) > width:
                rows.append(item)
            else:
                rows[-1] = f"{rows[-1]} {item}" if rows[-1] else item
        lines += [("config      " if i == 0 else " " * 12) + row for i, row in enumerate(rows)]
    rows, skipped = run.read_metrics_counted()
    lines.append(f"steps       {summary['steps']:,}")
    losses = [r["train_loss"] for r in rows if "train_loss" in r]
    if losses:
        lines.append(f"train loss  {losses[-1]:.4f} (last logged)")
    best = summary["best_val_loss"]
    lines.append(f"best val    {'-' if best is None else f'{best:.4f}'}")
    if skipped:
        lines.append(f"note        {skipped} bad line{'s' if skipped != 1 else ''} in metrics.jsonl skipped")
    for name in summary["checkpoints"]:
        path = run.path / name
        from rnn_tui.core.checkpoint import peek_checkpoint

        try:
            size_mb = f"{path.stat().st_size / 1e6:.1f} MB"
        except OSError:
            size_mb = "unreadable"
        peeked = peek_checkpoint(path)
        size_mb += f", step {peeked['step']:,}" if peeked is not None else ", damaged: cannot be read"
        lines.append(f"checkpoint  {_safe(path)} ({size_mb})")
    holder = lock_holder(run.path)
    if not summary["checkpoints"]:
        when = "saved at the first autosave, evaluation or stop" if holder is not None else "its trainer is gone"
        lines.append(f"checkpoint  none ({when})")
    if holder is not None:
        lines.append(f"training    now (PID {holder})")
        from rnn_tui.core.live import live_run

        live = live_run(run.path)
        if live is not None and live.socket is not None:
            lines.append(f"watch       rnn-tui attach {_safe(run.name)} (stop: rnn-tui stop {_safe(run.name)})")
    _out("".join(line + "\n" for line in lines))
    return 0


def _delete_run(run, args) -> int:
    from rnn_tui.core.errors import RunError
    from rnn_tui.core.runs import delete_run

    if not args.yes:
        if not sys.stdin.isatty():
            raise RunError(f"refusing to delete {run.name} without confirmation; add --yes")
        try:
            answer = input(f"delete run {_safe(run.name)} at {_safe(run.path)}? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            _out("kept\n", sys.stderr)
            return 1
    from rnn_tui.core.live import clean_stale

    clean_stale(run.path)  # a killed trainer's socket is not a file delete_run may remove
    left = delete_run(run, force=args.force, say=lambda line: _out(f"rnn-tui: {line}\n", sys.stderr))
    if left:
        shown = ", ".join(_safe(n) for n in left[:5]) + (", ..." if len(left) > 5 else "")
        _out(
            f"deleted run {_safe(run.name)}'s files; left {len(left)} that rnn-tui did not write in "
            f"{_safe(run.path)}: {shown}\n"
        )
    else:
        _out(f"deleted {_safe(run.path)}\n")
    return 0


def trace(args) -> int:

    from rnn_tui.core.config import MAX_TRACE_CHARS
    from rnn_tui.core.errors import UserError
    from rnn_tui.core.gates import trace as trace_text

    text = args.text if args.text is not None else _read_text_file(args.text_file, MAX_TRACE_CHARS)
    if not text:
        raise UserError(f"{'--text' if args.text is not None else '--text-file'} is empty; give at least one character")
    if len(text) > MAX_TRACE_CHARS:
        raise UserError(f"--text is {len(text):,} characters; trace at most {MAX_TRACE_CHARS:,} at a time")
    _, model, vocab, _ = load_model(args.run, args.runs_dir)
    result = trace_text(model, vocab, text)
    _out(json.dumps(result.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n")
    return 0


def _read_text_file(name: str, limit: int) -> str:
    """At most ``limit`` characters of a regular UTF-8 file; a FIFO, a device or a longer file is refused
    before it is read (``/dev/zero`` never ends, a FIFO may never open)."""
    import stat

    from rnn_tui.core.errors import UserError

    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise UserError(f"--text-file {name}: cannot open it ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UserError(f"--text-file {name}: not a regular file; save the text into one first")
        data = fh.read(4 * limit + 4)  # UTF-8: at most 4 bytes a character
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data" and len(data) > 4 * limit:
            text = data[: exc.start].decode("utf-8")
        else:
            raise UserError(f"--text-file {name}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    if len(text) > limit:
        raise UserError(f"--text-file {name} holds more than {limit:,} characters; trace at most that at a time")
    return text


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
    if args.text is not None and len(args.text) < 2:
        raise UserError(f"--text needs at least 2 characters (got {len(args.text)}): one to read, one to predict")
    run, _, vocab, state = load_model(args.run, args.runs_dir)
    text = args.text if args.text is not None else run_text(run, args.length + 1)
    if not text or len(text) < 2:
        raise UserError("no text to measure on: the run's corpus is not where it was; pass --text")
    text = text[: args.length + 1]
    from rnn_tui.core.sampling import check_prime

    check_prime(vocab, text, what="the text")
    ids = torch.tensor([vocab.index[ch] for ch in text])
    flow = gradient_flow_for(state["config"], state["vocab"], state["model"], ids)
    if args.json:
        _out(json.dumps(flow.to_json(), separators=(",", ":")) + "\n")
        return 0
    marks = [d for d in (0, 1, 2, 5, 10, 20, 50, 100, 200, 500) if d < len(flow.distance)]
    lines = [
        f"{flow.cell}: ||dL_T/dh_t|| by distance T-t (now | at initialisation)",
        "distance " + " ".join(f"{'layer ' + str(k + 1):>21}" for k in range(len(flow.layers))),
    ]
    for d in marks:
        lines.append(
            f"{d:>8} "
            + " ".join(f"{flow.at(d, k):>10.3e} | {flow.at(d, k, True):>8.2e}" for k in range(len(flow.layers)))
        )
    _out("".join(line + "\n" for line in lines))
    return 0

"""The command line: ``rnn-tui [CORPUS]`` and its subcommands.

Parsing imports nothing heavy, so ``--help`` is instant; torch, textual and
rich are imported only by the command that needs them. Every ``UserError``
ends as one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

EXAMPLES = """\
examples:
  rnn-tui                                   the home screen: saved runs, new runs (Enter trains the demo)
  rnn-tui notes.txt --cell gru --layers 3   train a 3-layer GRU on your text
  rnn-tui --demo hello                      a demo corpus (tragedies, sonnets, hello, python) and its settings
  rnn-tui notes.txt --headless --max-steps 2000
                                            train without the app (for scripts, nohup, tmux)
  rnn-tui --resume RUN                      continue a run exactly where it stopped
  rnn-tui sample RUN --prime "ROMEO." --temperature 0.7 --length 400
  rnn-tui trace RUN --text "To be, or not to be" --json
  rnn-tui gates RUN                         the gate view of a saved run
  rnn-tui gradflow RUN --json               how far back the gradient reaches, now and at init
  rnn-tui notes.txt --compare rnn,lstm,gru --max-time 300
                                            train the three cells side by side (one after another)
  rnn-tui notes.txt --detach                train in the background; prints the run name
  rnn-tui attach [RUN]                      watch a run that trains (default: the newest)
  rnn-tui stop RUN                          save a training run and stop it
  rnn-tui runs                              list saved runs (runs show RUN, runs delete RUN)
  rnn-tui serve --port 8000                 the app in a browser (over SSH: ssh -L 8000:localhost:8000 HOST)
"""

SUBCOMMANDS = ("sample", "runs", "trace", "gates", "gradflow", "attach", "stop", "serve")
SERVE_RUN = "--serve-run"  # internal: the trainer process the app starts (see core.service)


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, no usage dump
        self.exit(2, f"rnn-tui: error: {message} (see rnn-tui --help)\n")


def _number(kind):
    def parse(text):
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a {'whole number' if kind is int else 'number'}"
            ) from None

    return parse


def _positive_seconds(text):
    value = _number(float)(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def _run_name(text):
    from rnn_tui.core.paths import new_name_problem, shown

    problem = new_name_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(f"{shown(text)} {problem}; pick a plain name such as shakespeare-lstm")
    return text


def train_parser() -> Parser:
    from rnn_tui.core.config import CELLS, PRECISIONS
    from rnn_tui.core.demos import DEMOS

    p = Parser(
        prog="rnn-tui",
        description="Train a character-level RNN, LSTM or GRU on a text file and watch it learn, "
        "look inside its gates and sample from it, all in the terminal.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        argument_default=argparse.SUPPRESS,
    )
    p.add_argument("corpus", nargs="?", help="text file to train on (default: the bundled Shakespeare tragedies)")
    p.add_argument(
        "--demo",
        choices=tuple(DEMOS),
        help="train on a demo corpus with settings that suit it (your "
        "options win): " + "; ".join(d.title for d in DEMOS.values()),
    )
    p.add_argument("--headless", action="store_true", help="train without the app; print progress lines")
    p.add_argument(
        "--detach",
        action="store_true",
        help="train in the background and return at once, printing the "
        "run name (watch it: rnn-tui attach; stop it: rnn-tui stop)",
    )
    p.add_argument(
        "--on-hangup",
        choices=("stop", "continue"),
        help="what a hang-up (SSH dropped, terminal closed) does to the training: stop saves and stops it, "
        "continue leaves it running to attach to later (default: continue over SSH, else stop; "
        "--headless: stop)",
    )
    p.add_argument(
        "--in-process",
        action="store_true",
        help="keep the trainer on a thread of the app (then leaving always saves and stops it)",
    )
    p.add_argument("--resume", metavar="RUN", help="continue a saved run (name, folder) at its exact step")
    p.add_argument("--allow-corpus-change", action="store_true", help="resume even if the corpus file changed")
    p.add_argument(
        "--name", type=_run_name, help="run name, one plain folder name (default: corpus stem, cell and time)"
    )
    p.add_argument("--runs-dir", help="where runs live (default: $RNN_TUI_HOME/runs or the user data dir)")
    p.add_argument(
        "--compare",
        metavar="CELLS",
        help="train these cells one after another on the same corpus, budget "
        "and seed and compare them, e.g. rnn,lstm,gru",
    )
    p.add_argument(
        "--match-params", action="store_true", help="with --compare: size each cell to the LSTM's parameter count"
    )
    m = p.add_argument_group("model")
    m.add_argument("--cell", choices=CELLS, help="recurrent cell (default lstm)")
    m.add_argument("--layers", type=_number(int), help="stacked layers (default 2)")
    m.add_argument("--hidden-size", type=_number(int), help="units per layer (default 256)")
    m.add_argument("--embed-size", type=_number(int), help="character embedding size (default 64)")
    m.add_argument(
        "--dropout", type=_number(float), help="dropout between layers and before the output, in [0, 1) (default 0.1)"
    )
    t = p.add_argument_group("training")
    t.add_argument("--seq-len", type=_number(int), help="characters per truncated-BPTT chunk (default 128)")
    t.add_argument("--batch-size", type=_number(int), help="parallel streams (default 64)")
    t.add_argument("--lr", type=_number(float), help="peak learning rate, AdamW (default 4e-3)")
    t.add_argument("--weight-decay", type=_number(float), help="AdamW weight decay (default 0.01)")
    t.add_argument("--warmup-steps", type=_number(int), help="linear warmup steps (default 100)")
    t.add_argument("--lr-decay", type=_number(float), help="learning-rate factor per epoch (default 0.9)")
    t.add_argument("--grad-clip", type=_number(float), help="global gradient-norm clip (default 5)")
    t.add_argument("--max-steps", type=_number(int), help="stop at this step (counted from the run's start)")
    t.add_argument("--max-time", type=_number(float), help="stop after this many seconds")
    t.add_argument("--epochs", type=_number(float), help="stop after this many passes over the text")
    t.add_argument("--val-frac", type=_number(float), help="fraction of the text held out for validation (default 0.1)")
    t.add_argument("--eval-every", type=_number(int), help="validate every N steps (default 250)")
    t.add_argument(
        "--eval-chars", type=_number(int), help="validation characters scored per evaluation (default 200000)"
    )
    t.add_argument("--log-every", type=_number(int), help="write metrics.jsonl every N steps (default 10)")
    t.add_argument("--sample-every", type=_number(float), help="seconds between live samples, 0 for none (default 5)")
    t.add_argument("--save-every", type=_number(float), help="seconds between autosaves (default 300)")
    t.add_argument("--seed", type=_number(int), help="random seed (default 1337)")
    t.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    t.add_argument(
        "--precision", choices=PRECISIONS, help="autocast precision; auto = bf16 where it runs fast (default auto)"
    )
    t.add_argument("--threads", type=_number(int), help="CPU threads for torch (default: all cores)")
    t.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the embedding and output layer (the recurrent kernels are cuDNN/oneDNN already; measured "
        "no gain on an H200)",
    )
    t.add_argument("--encoding", help="text encoding of the corpus (default utf-8; BOMs are detected)")
    return p


def sample_parser() -> Parser:
    p = Parser(
        prog="rnn-tui sample",
        description="Generate text from a saved run. Prints only the text.",
        argument_default=argparse.SUPPRESS,
    )
    p.add_argument("run", metavar="RUN", help="run name, run folder or checkpoint file")
    p.add_argument("--prime", help="text to start from (default: a newline)")
    p.add_argument("--length", type=_number(int), help="characters to generate (default 500)")
    p.add_argument(
        "--temperature", type=_number(float), help="0 = greedy; lower is safer, higher is wilder (default 0.8)"
    )
    p.add_argument("--top-k", type=_number(int), help="sample only from the k likeliest characters")
    p.add_argument("--top-p", type=_number(float), help="sample only from the smallest set with this much probability")
    p.add_argument("--seed", type=_number(int), help="same seed, same text")
    p.add_argument("--greedy", action="store_true", help="always take the likeliest character")
    p.add_argument("--runs-dir", help="where runs live")
    return p


def runs_parser() -> Parser:
    p = Parser(
        prog="rnn-tui runs",
        description="List, show or delete saved runs. RUN is a run's name, a unique "
        "start of one, `last` (the most recently trained) or a run folder; delete takes the whole name only.",
    )
    p.add_argument("action", nargs="?", choices=("list", "show", "delete"), default="list")
    p.add_argument("run", nargs="?", metavar="RUN")
    p.add_argument("--yes", action="store_true", help="delete without asking")
    p.add_argument(
        "--force", action="store_true", help="delete a run that is training: stop it first (it saves and exits)"
    )
    p.add_argument("--runs-dir", help="where runs live")
    return p


def trace_parser() -> Parser:
    p = Parser(prog="rnn-tui trace", description="Run text through a saved model and print every gate per character.")
    p.add_argument("run", metavar="RUN")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", help="the text to trace (at most 20,000 characters)")
    src.add_argument("--text-file", help="a UTF-8 text file to trace (at most 20,000 characters)")
    p.add_argument("--json", action="store_true", help="print JSON (the only format for now)")
    p.add_argument("--runs-dir")
    return p


def gradflow_parser() -> Parser:
    p = Parser(
        prog="rnn-tui gradflow",
        description="How far back the gradient reaches: ||dL_T/dh_t|| per layer against the distance T - t, "
        "for the saved weights and at initialisation.",
    )
    p.add_argument("run", metavar="RUN")
    p.add_argument("--length", type=_number(int), default=100, help="chunk length T (default 100)")
    p.add_argument("--text", help="text to use (default: the start of the run's validation text)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--runs-dir")
    return p


def gates_parser() -> Parser:
    p = Parser(prog="rnn-tui gates", description="Open the gate view on a saved run.")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--runs-dir")
    return p


def attach_parser() -> Parser:
    p = Parser(
        prog="rnn-tui attach",
        description="Open the app on a run that is training (in the background, "
        "headless or in another terminal); several may watch at once.",
    )
    p.add_argument(
        "run",
        nargs="?",
        metavar="RUN",
        help="run name or a unique start of one (default: the most recently started live run)",
    )
    p.add_argument("--runs-dir", help="where runs live")
    return p


def stop_parser() -> Parser:
    p = Parser(prog="rnn-tui stop", description="Ask a training run to save and stop; exits 0 once it is saved.")
    p.add_argument("run", metavar="RUN", help="run name or a unique start of one")
    p.add_argument(
        "--timeout", type=_positive_seconds, default=300.0, help="seconds to wait for the save (default 300)"
    )
    p.add_argument("--runs-dir", help="where runs live")
    return p


def serve_parser() -> Parser:
    p = Parser(
        prog="rnn-tui serve",
        description="Serve the app to a web browser (textual-serve): each tab is a "
        "viewer of its own, and closing one never stops a training.",
    )
    p.add_argument("--port", type=_number(int), default=8000, help="TCP port (default 8000)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1, this machine only; "
        "from another one use ssh -L 8000:localhost:8000 HOST)",
    )
    p.add_argument("--runs-dir", help="where runs live")
    return p


def require_terminal(instead: str) -> None:
    """The app draws on a real terminal; ``instead`` says what to use without one."""
    from rnn_tui.core.errors import UserError

    if not (sys.stdout.isatty() and sys.stdin.isatty()):
        raise UserError(
            f"the app needs a terminal (stdout or stdin is not one); {instead}, or use `ssh -t` for a remote box"
        )
    if os.environ.get("TERM", "") in ("dumb", "unknown"):
        raise UserError(
            f"TERM={os.environ['TERM']} cannot draw the app (no cursor movement); "
            f"set TERM=xterm-256color, or {instead} for plain progress lines"
        )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from rnn_tui.core.errors import UserError

    try:
        if len(argv) == 2 and argv[0] == SERVE_RUN:
            from rnn_tui.cli.headless import serve_run

            return serve_run(argv[1])
        if argv and argv[0] in SUBCOMMANDS:
            command, rest = argv[0], argv[1:]
            if command == "sample":
                from rnn_tui.cli import subcommands

                return subcommands.sample(vars(sample_parser().parse_args(rest)))
            if command == "runs":
                from rnn_tui.cli import subcommands

                return subcommands.runs(runs_parser().parse_args(rest))
            if command == "trace":
                from rnn_tui.cli import subcommands

                return subcommands.trace(trace_parser().parse_args(rest))
            if command == "gradflow":
                from rnn_tui.cli import subcommands

                return subcommands.gradflow(gradflow_parser().parse_args(rest))
            if command == "attach":
                from rnn_tui.cli import live

                return live.attach(attach_parser().parse_args(rest))
            if command == "stop":
                from rnn_tui.cli import live

                return live.stop(stop_parser().parse_args(rest))
            if command == "serve":
                from rnn_tui.cli import serve

                return serve.serve(serve_parser().parse_args(rest))
            if command == "gates":
                gates = gates_parser().parse_args(rest)
                from rnn_tui.ui.launch import run_gates_app

                return run_gates_app(gates.run, gates.runs_dir)
        args = vars(train_parser().parse_args(argv))
        headless = args.pop("headless", False)
        detach = args.pop("detach", False)
        in_process = args.pop("in_process", False)
        on_hangup = args.pop("on_hangup", None)
        from rnn_tui.core.orchestrate import RunRequest

        if detach and headless:
            raise UserError(
                "--detach and --headless: pick one (--detach trains in the background, --headless in this terminal)"
            )
        if not headless and not detach and not set(args) - {"runs_dir"}:
            # A bare `rnn-tui`: the playground's home screen (saved runs, a new run; Enter trains the demo).
            require_terminal("add --headless to train the demo without the app")
            from rnn_tui.ui.launch import run_home_app

            if on_hangup is None:
                on_hangup = "continue" if os.environ.get("SSH_CONNECTION") else "stop"
            return run_home_app(args.get("runs_dir"), on_hangup=on_hangup, in_process=in_process)
        request = RunRequest.from_options(args)
        request.check()  # option, file and name errors before torch loads or a screen opens
        if headless:
            from rnn_tui.cli.headless import train_headless

            return train_headless(request, on_hangup=on_hangup)
        if detach:
            from rnn_tui.cli import live

            return live.detach(request)
        if on_hangup is None:
            on_hangup = "continue" if os.environ.get("SSH_CONNECTION") else "stop"
        require_terminal("add --headless (or --detach)")
        from rnn_tui.ui.launch import run_train_app

        return run_train_app(request, on_hangup=on_hangup, in_process=in_process)
    except UserError as exc:
        asked = exc.exit_code > 128  # a stop the user asked for (a signal while loading), not a mistake
        print(f"rnn-tui: {'' if asked else 'error: '}{exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("rnn-tui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # e.g. `rnn-tui sample RUN | head`: the reader left, which is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0

"""The command-line faces: ``main`` parses and dispatches, ``headless`` prints a training's
progress, ``subcommands`` holds sample/runs/trace/gradflow. Nothing here imports torch at
module level, so ``rnn-tui --help`` stays instant."""

from rnn_tui.cli.main import main

__all__ = ["main"]

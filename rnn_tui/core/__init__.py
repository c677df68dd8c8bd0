"""The engine: corpus, model, trainer, sampling, gates and runs.

It imports neither textual nor rich (a test enforces it), and this package's
``__init__`` imports nothing heavy, so ``rnn-tui --help`` never pays for torch.
"""

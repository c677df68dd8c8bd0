"""rnn-tui: a terminal playground for character-level recurrent language models."""

__version__ = "0.1.0"

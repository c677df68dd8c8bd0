"""Turn user choices into a ready run: corpus loaded, run folder made and locked.

Both faces (headless and TUI) call ``prepare`` before they start the trainer,
so every bad input is refused here, before any screen opens or any file of an
existing run is touched.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from rnn_tui import __version__
from rnn_tui.core.config import ARCHITECTURE_FIELDS, TrainConfig, flag
from rnn_tui.core.corpus import Corpus, check_trainable, load_corpus
from rnn_tui.core.errors import RunError
from rnn_tui.core.paths import runs_dir as default_runs_dir
from rnn_tui.core.runs import Run, RunLock, default_name, load_checkpoint, now_iso, resolve_run


@dataclass
class Prepared:
    config: TrainConfig
    corpus: Corpus
    run: Run
    lock: RunLock
    resume: dict | None = None
    notes: list[str] = field(default_factory=list)


def prepare(corpus_path: str | None, overrides: dict, runs_dir: str | None = None, name: str | None = None,
            resume: str | None = None, allow_corpus_change: bool = False, progress=None, main: bool = True) -> Prepared:
    """``overrides`` holds only the options the user gave explicitly.

    ``main=False`` (torchrun ranks other than 0) reads everything but writes, locks and refuses nothing
    about the run folder: rank 0 owns it.
    """
    root = default_runs_dir(runs_dir)
    notes: list[str] = []
    state = None
    if resume:
        run, ckpt_path = resolve_run(resume, root)
        if run is None:
            raise RunError(f"{resume}: a checkpoint outside a run folder cannot be resumed; pass the run's name or folder")
        state = load_checkpoint(ckpt_path)
        saved = TrainConfig.from_dict(state["config"])
        differences = [f"{flag(k)} {overrides[k]} (checkpoint: {getattr(saved, k)})"
                       for k in ARCHITECTURE_FIELDS if k in overrides and overrides[k] != getattr(saved, k)]
        if differences:
            raise RunError(f"cannot resume {run.name} with a different architecture: {'; '.join(differences)}; drop those flags")
        config = saved.with_changes(**{k: v for k, v in overrides.items() if k not in ARCHITECTURE_FIELDS}).validated()
        corpus_path = corpus_path or state.get("corpus", {}).get("path")
        corpus = load_corpus(corpus_path, encoding=config.encoding, val_frac=config.val_frac, progress=progress)
        was = state.get("corpus", {})
        if not allow_corpus_change:
            if was.get("sha256") and was["sha256"] != corpus.sha256:
                raise RunError(f"{corpus_path}: the corpus changed since {run.name} was trained (its hash differs); "
                               f"pass --allow-corpus-change to resume on it anyway")
        if corpus.vocab.chars != state["vocab"]:
            raise RunError(f"{corpus_path}: its vocabulary differs from {run.name}'s ({len(corpus.vocab)} vs "
                           f"{len(state['vocab'])} characters), and the model cannot read new characters; train a new run")
        notes.append(f"resumed {run.name} at step {state.get('step', 0)}")
        if main:
            run.truncate_metrics(int(state.get("step", 0)))
    else:
        config = TrainConfig().with_changes(**overrides).validated()
        corpus = load_corpus(corpus_path, encoding=config.encoding, val_frac=config.val_frac, progress=progress)
        run = Run(root / (name or default_name(corpus_path, config.cell)))
        if main and (run.path / "config.json").exists():
            raise RunError(f"a run named {run.name} already exists in {root}; pick another --name or --resume it")
    from rnn_tui.core.device import resolve, resolve_precision

    device, _ = resolve(config.device)  # a missing device is an error before any folder is made
    resolve_precision(config.precision, device)
    notes += corpus.warnings
    notes += check_trainable(corpus, config.seq_len, config.batch_size)
    if not main:
        return Prepared(config, corpus, run, RunLock(run.path), state, notes)
    run.check_writable()
    lock = RunLock(run.path).acquire()
    if not resume:
        run.write_config({
            "train": config.to_dict(),
            "corpus": corpus.summary(),
            "created": now_iso(),
            "command": sys.argv,
            "versions": _versions(),
        })
    return Prepared(config, corpus, run, lock, state, notes)


def _versions() -> dict:
    import torch

    return {"rnn_tui": __version__, "torch": str(torch.__version__), "python": sys.version.split()[0]}


def demo_corpus_path() -> str:
    from rnn_tui.core.paths import demo_corpus

    path = demo_corpus()
    if not path.is_file():
        raise RunError(f"the bundled demo corpus is missing ({path}); pass the path of a text file to train on")
    return str(path)


def corpus_display_name(path: str) -> str:
    return Path(path).name


def validation_text(run_dir, length: int = 4000) -> str | None:
    """The start of a saved run's validation split, if its corpus is still where it was."""
    from rnn_tui.core.errors import UserError

    try:
        config = Run(Path(run_dir)).read_config()
        info = config.get("corpus", {})
        corpus = load_corpus(info["path"], encoding=config.get("train", {}).get("encoding"),
                             val_frac=info.get("val_frac", 0.1))
    except (UserError, KeyError, OSError, TypeError):
        return None
    return corpus.text(corpus.split_at, min(corpus.n_chars, corpus.split_at + length)) or None

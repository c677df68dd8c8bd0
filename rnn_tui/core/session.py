"""Turn user choices into a ready run: corpus loaded, run folder made and locked.

Both faces (headless and TUI) call ``prepare`` before they start the trainer,
so every bad input is refused here, before any screen opens or any file of an
existing run is touched. The trainer, not this module, trims a resumed run's
metrics: only once its restore has succeeded is the resume certain.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from rnn_tui import __version__
from rnn_tui.core.checkpoint import load_checkpoint, newest_checkpoint
from rnn_tui.core.config import ARCHITECTURE_FIELDS, TrainConfig, flag
from rnn_tui.core.corpus import Corpus, check_trainable, load_corpus
from rnn_tui.core.errors import CheckpointError, RunError
from rnn_tui.core.paths import RUN_FILES
from rnn_tui.core.paths import runs_dir as default_runs_dir
from rnn_tui.core.runs import Run, RunLock, default_name, new_run, now_iso, resolve_run


@dataclass
class Prepared:
    config: TrainConfig
    corpus: Corpus
    run: Run
    lock: RunLock
    resume: dict | None = None
    notes: list[str] = field(default_factory=list)


def prepare(
    corpus_path: str | None,
    overrides: dict,
    runs_dir: str | None = None,
    name: str | None = None,
    resume: str | None = None,
    allow_corpus_change: bool = False,
    progress=None,
    main: bool = True,
    should_stop=None,
) -> Prepared:
    """``overrides`` holds only the options the user gave explicitly.

    Nothing of an existing run is written before its lock is held and every check has passed: a
    resume takes the lock first, then picks the newest complete checkpoint and checks that it fits.
    ``should_stop()`` is asked while the corpus loads (see ``load_corpus``). ``main=False`` (torchrun
    ranks other than 0) reads everything but writes, locks and refuses nothing about the run
    folder: rank 0 owns it.
    """
    root = default_runs_dir(runs_dir)
    held: list[RunLock] = []
    try:
        if resume:
            config, corpus, run, state, notes = _prepare_resume(
                resume, root, overrides, corpus_path, allow_corpus_change, progress, should_stop, held if main else None
            )
        else:
            assert corpus_path is not None, "a new run has a text (RunRequest.corpus_path gives the demo's)"
            config = TrainConfig().with_changes(**overrides).validated()
            run = new_run(
                root, name or default_name(corpus_path, config.cell), check_free=main
            )  # checked name, free folder
            corpus = load_corpus(
                corpus_path,
                encoding=config.encoding,
                val_frac=config.val_frac,
                progress=progress,
                should_stop=should_stop,
            )
            state, notes = None, []
        from rnn_tui.core.device import resolve, resolve_precision

        device, _ = resolve(config.device)  # a missing device is an error before any folder is made
        resolve_precision(config.precision, device)
        notes += corpus.warnings
        notes += check_trainable(corpus, config.seq_len, config.batch_size)
        if not main:
            return Prepared(config, corpus, run, RunLock(run.path), state, notes)
        run.check_writable()
        if not resume:
            held.append(RunLock(run.path).acquire())
            if (run.path / "config.json").exists():  # made by another process since the name was checked
                raise RunError(f"a run named {run.name} already exists in {root}; pick another --name or --resume it")
            run.write_config(
                {
                    "train": config.to_dict(),
                    "corpus": corpus.summary(),
                    "created": now_iso(),
                    "command": sys.argv,
                    "versions": _versions(),
                }
            )
        return Prepared(config, corpus, run, held[0], state, notes)
    except BaseException:
        for lock in held:
            lock.release()
        raise


def _prepare_resume(resume, root, overrides, corpus_path, allow_corpus_change, progress, should_stop, held):
    """(config, corpus, run, checkpoint state, notes) of a resume; ``held`` gets the run's lock (None: no lock)."""
    run, ckpt_path = resolve_run(resume, root)
    if run is None:
        raise RunError(f"{resume}: a checkpoint outside a run folder cannot be resumed; pass the run's name or folder")
    if held is not None:
        held.append(
            RunLock(run.path).acquire()
        )  # first: what is newest cannot change under us, a refusal writes nothing
    linked = [n for n in RUN_FILES if (run.path / n).is_symlink()]
    if linked:  # training writes these: through a link it would write outside the run folder
        raise RunError(
            f"{run.path / linked[0]} is a symbolic link; a run folder holds its own files: "
            "replace the link with the file it points to"
        )
    odd = [n for n in RUN_FILES if n not in ("lock", "live.sock") and (run.path / n).exists()]
    odd = [n for n in odd if not (run.path / n).is_file()]
    if odd:
        raise RunError(f"{run.path / odd[0]} is not a plain file (rnn-tui writes a file there); move it away")
    if ckpt_path == Path(resume).expanduser():  # a checkpoint file named explicitly: that one
        state = load_checkpoint(ckpt_path)
    else:
        ckpt_path, state = newest_checkpoint(run.path)
    try:
        saved = TrainConfig.from_dict(state["config"])
    except (TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"{ckpt_path}: its config is damaged ({exc}); resume from another checkpoint") from None
    differences = [
        f"{flag(k)} {overrides[k]} (checkpoint: {getattr(saved, k)})"
        for k in ARCHITECTURE_FIELDS
        if k in overrides and overrides[k] != getattr(saved, k)
    ]
    if differences:
        raise RunError(
            f"cannot resume {run.name} with a different architecture: {'; '.join(differences)}; drop those flags"
        )
    config = saved.with_changes(**{k: v for k, v in overrides.items() if k not in ARCHITECTURE_FIELDS}).validated()
    was = state.get("corpus") if isinstance(state.get("corpus"), dict) else {}
    corpus_path = corpus_path or was.get("path")
    if not corpus_path:
        raise RunError(f"{ckpt_path}: the checkpoint does not say which corpus it was trained on; pass the corpus path")
    corpus = load_corpus(
        corpus_path, encoding=config.encoding, val_frac=config.val_frac, progress=progress, should_stop=should_stop
    )
    if not allow_corpus_change and was.get("sha256") and was["sha256"] != corpus.sha256:
        raise RunError(
            f"{corpus_path}: the corpus changed since {run.name} was trained (its hash differs); "
            f"pass --allow-corpus-change to resume on it anyway"
        )
    if corpus.vocab.chars != state["vocab"]:
        raise RunError(
            f"{corpus_path}: its vocabulary differs from {run.name}'s ({len(corpus.vocab)} vs "
            f"{len(state['vocab'])} characters), and the model cannot read new characters; train a new run"
        )
    notes = check_resumable(state, config, len(corpus.vocab), ckpt_path)
    source = "" if ckpt_path.name == "latest.pt" else f" (from {ckpt_path.name}, the newest complete checkpoint)"
    if ckpt_path == Path(resume).expanduser():
        source = f" (from {ckpt_path})"
    notes.insert(0, f"resumed {run.name} at step {int(state.get('step', 0)):,}{source}")
    rows, skipped = run.read_metrics_counted()
    step = int(state.get("step", 0))
    last = max((r["step"] for r in rows if isinstance(r.get("step"), int)), default=0)
    if last > step:  # the steps after the checkpoint are gone with the process that trained them: say so
        notes.append(
            f"the history ran to step {last:,}: the {last - step:,} steps after step {step:,} were never saved "
            "in a complete checkpoint and are trained again"
        )
    if skipped:
        notes.append(f"{skipped} damaged line{'s' if skipped != 1 else ''} in {run.name}'s metrics.jsonl skipped")
    return config, corpus, run, state, notes


def check_resumable(state: dict, config: TrainConfig, vocab_size: int, source: Path) -> list[str]:
    """Refuse a checkpoint whose weights or optimizer state do not fit the model its config builds,
    before anything is written; drop a carried hidden state that no longer fits (a changed
    --batch-size) and say so. Returns notes."""
    import torch

    from rnn_tui.core.model import CharRNN

    with torch.device("meta"):  # shapes only: no memory, no random init
        model = CharRNN.from_config(config, vocab_size, weights_follow=True)
    try:
        # A plain copy: load_state_dict(assign=True) records "assign" in the dict's own _metadata,
        # and the trainer's later load of the same dict would then replace its parameters.
        model.load_state_dict(dict(state["model"]), assign=True)
    except (RuntimeError, TypeError, KeyError, AttributeError) as exc:
        raise CheckpointError(
            f"{source}: its weights do not fit the model its config describes ({_first_line(exc)}); "
            f"resume from another checkpoint or train a new run"
        ) from None
    problem = _optimizer_problem(state.get("optimizer"), [tuple(p.shape) for p in model.parameters()])
    if problem:
        raise CheckpointError(
            f"{source}: its optimizer state does not fit the model ({problem}); "
            f"resume from another checkpoint or train a new run"
        )
    notes = []
    hidden = state.get("hidden")
    shape = (config.layers, config.batch_size, config.hidden_size)
    if hidden and not (
        isinstance(hidden, (list, tuple))
        and len(hidden) == (2 if config.cell == "lstm" else 1)
        and all(isinstance(t, torch.Tensor) and tuple(t.shape) == shape for t in hidden)
    ):
        state["hidden"] = None
        old = state["config"].get("batch_size")
        if old != config.batch_size:
            notes.append(
                f"--batch-size {config.batch_size} (the checkpoint's was {old}): the text is laid out in "
                f"new streams, which start from a blank hidden state"
            )
        else:
            notes.append("the checkpoint's hidden state does not fit the model; the streams start from a blank state")
    return notes


def _optimizer_problem(saved, shapes: list[tuple]) -> str | None:
    """What makes a saved AdamW state unusable for parameters of ``shapes`` (in order), or None."""
    import torch

    if not saved:
        return None
    try:
        groups, per_param = saved["param_groups"], saved["state"]
        ids = [i for group in groups for i in group["params"]]
        if len(ids) != len(shapes):
            return f"{len(ids)} parameters, the model has {len(shapes)}"
        for index, shape in zip(ids, shapes, strict=True):
            for key, value in (per_param.get(index) or {}).items():
                if isinstance(value, torch.Tensor) and value.dim() > 0 and tuple(value.shape) != shape:
                    return f"{key} of parameter {index} is {tuple(value.shape)}, the parameter is {shape}"
    except (KeyError, TypeError, AttributeError) as exc:
        return f"malformed: {_first_line(exc)}"
    return None


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]


def _versions() -> dict:
    import torch

    return {"rnn_tui": __version__, "torch": str(torch.__version__), "python": sys.version.split()[0]}


def demo_corpus_path() -> str:
    from rnn_tui.core.paths import demo_corpus

    path = demo_corpus()
    if not path.is_file():
        raise RunError(f"the bundled demo corpus is missing ({path}); pass the path of a text file to train on")
    return str(path)


def validation_text(run_dir, length: int = 4000) -> str | None:
    """The start of a saved run's validation split, if its corpus is still where it was."""
    from rnn_tui.core.errors import UserError

    try:
        config = Run(Path(run_dir)).read_config()
        info = config.get("corpus", {})
        corpus = load_corpus(
            info["path"], encoding=config.get("train", {}).get("encoding"), val_frac=info.get("val_frac", 0.1)
        )
    except (UserError, KeyError, OSError, TypeError):
        return None
    return corpus.text(corpus.split_at, min(corpus.n_chars, corpus.split_at + length)) or None

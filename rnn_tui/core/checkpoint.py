"""The checkpoint format, in one place: what a checkpoint holds, how it is written, found and read.

A checkpoint is a dict of tensors and plain values with ``format`` and ``format_version`` keys,
written atomically (``core.files``: temp file, fsync, rename; the old latest kept as previous.pt
by a hard link) and read with ``torch.load(weights_only=True)``, so nothing in a file can run code.
``checked_state`` refuses a loadable file whose contents are not what rnn-tui wrote (wrong types,
non-finite weights) before anything uses it.
"""

from __future__ import annotations

import math
import os
import pickle
import zipfile
from pathlib import Path

import torch

from rnn_tui import __version__
from rnn_tui.core.errors import CheckpointError, first_line
from rnn_tui.core.files import (
    TEMP_NAME,
    fsync_dir,
    list_names,
    temp_name,
    unlink_quietly,
    write_synced,
)
from rnn_tui.core.paths import CHECKPOINT_FILES as CHECKPOINTS
from rnn_tui.core.paths import shown

FORMAT = "rnn-tui-checkpoint"


FORMAT_VERSION = 1
MAX_STEP = 10**12  # a million steps a second for ten days: past it, a step count is damage


def compose(
    *,
    config: dict,
    vocab: str,
    model: dict,
    optimizer: dict | None,
    step: int,
    hidden: list | None,
    rng: dict,
    corpus: dict,
    best_val_loss: float | None,
    lr_scale: float,
    rollbacks: int,
    skipped_steps: int,
    elapsed: float,
    user_lr_scale: float = 1.0,
) -> dict:
    """Every key a checkpoint holds (``save_checkpoint`` adds ``format`` and ``format_version``).

    Tensors and plain values only, so ``torch.load(weights_only=True)`` reads it back whole.
    ``lr_scale`` is the NaN guard's halving, ``user_lr_scale`` the user's x2 and /2: kept apart so
    each can be told and undone on its own.
    """
    return {
        "config": config,
        "vocab": vocab,
        "model": model,
        "optimizer": optimizer,
        "step": step,
        "hidden": hidden,
        "rng": rng,
        "corpus": corpus,
        "best_val_loss": best_val_loss,
        "lr_scale": lr_scale,
        "rollbacks": rollbacks,
        "skipped_steps": skipped_steps,
        "elapsed": elapsed,
        "user_lr_scale": user_lr_scale,
        "versions": {"rnn_tui": __version__, "torch": str(torch.__version__)},
    }


def counters(state: dict) -> dict:
    """The training counters of a loaded checkpoint, with the defaults of older files."""
    return {
        "step": int(state.get("step", 0)),
        "best_val_loss": state.get("best_val_loss"),
        "lr_scale": float(state.get("lr_scale", 1.0)),
        "rollbacks": int(state.get("rollbacks", 0)),
        "skipped_steps": int(state.get("skipped_steps", 0)),
        "elapsed": float(state.get("elapsed", 0.0)),
        "user_lr_scale": _positive(state.get("user_lr_scale"), 1.0),
    }


def _positive(value, default: float) -> float:
    """A finite number > 0, else ``default`` (older files have no user scale; a damaged one must not give
    a NaN rate)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
        return float(value)
    return default


def save_checkpoint(state: dict, path: Path, keep_previous: bool = False, only_if_better: bool = False) -> bool:
    """Write ``state`` so that a crash at any instant leaves a complete checkpoint to resume from.

    The new file is written and fsynced under a temporary name, then renamed over ``path``: ``path``
    is complete at every instant (old, then new). With ``keep_previous`` the old file is first
    hard-linked as previous.pt, unless previous.pt holds a newer step. With ``only_if_better``
    (best.pt) nothing is written unless the state's best_val_loss beats the one already on disk.
    Returns whether it wrote.
    """
    state = {"format": FORMAT, "format_version": FORMAT_VERSION, **state}
    if only_if_better and not _beats(state.get("best_val_loss"), peek_checkpoint(path)):
        return False
    tmp = temp_name(path)
    write_synced(tmp, lambda fh: torch.save(state, fh))
    try:
        if keep_previous:
            _keep_as_previous(path, state.get("step"))
        os.replace(tmp, path)
    except BaseException:
        unlink_quietly(tmp)
        raise
    fsync_dir(path.parent)
    return True


def _beats(value, on_disk: dict | None) -> bool:
    if on_disk is None or on_disk["best_val_loss"] is None:
        return True
    return isinstance(value, (int, float)) and value < on_disk["best_val_loss"]


def _keep_as_previous(latest: Path, saving_step: object = None) -> None:
    """previous.pt becomes the current latest.pt (a hard link: no copy, no disk space), unless latest.pt
    is damaged, older than previous.pt, or past the step being saved (a latest.pt this run did not
    resume from, such as one refused as unfit: previous.pt is then the good one). Best effort: if it
    fails, previous.pt stays as it was."""
    current = peek_checkpoint(latest)
    if current is None:
        return
    if isinstance(saving_step, int) and current["step"] > saving_step:
        return
    previous = latest.with_name("previous.pt")
    before = peek_checkpoint(previous)
    if before is not None and before["step"] > current["step"]:
        return
    tmp = temp_name(previous)
    try:
        unlink_quietly(tmp)
        try:
            os.link(latest, tmp)
        except OSError:  # a file system without hard links
            write_synced(tmp, lambda fh: fh.write(latest.read_bytes()))
        os.replace(tmp, previous)
    except BaseException as exc:
        unlink_quietly(tmp)
        if not isinstance(exc, OSError):
            raise


def peek_checkpoint(path: Path) -> dict | None:
    """``{"step", "best_val_loss"}`` of a checkpoint, read without loading its tensors (they are
    memory-mapped, never read); None if it is missing or not a readable rnn-tui checkpoint."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # noqa: BLE001 - any unreadable file is simply not a candidate
        return None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        return None
    step, best = state.get("step", 0), state.get("best_val_loss")
    if type(step) is not int or not 0 <= step <= MAX_STEP:
        return None
    best = (
        float(best) if isinstance(best, (int, float)) and not isinstance(best, bool) and math.isfinite(best) else None
    )
    return {"step": step, "best_val_loss": best}


def _orphans(run_dir: Path) -> list[Path]:
    """Checkpoints a crash left under a temporary name (complete ones are worth resuming from)."""
    try:
        names = sorted(os.listdir(run_dir))
    except OSError:
        return []
    return [run_dir / n for n in names if (m := TEMP_NAME.match(n)) and (m.group(1) or "").endswith(".pt")]


def newest_checkpoint(run_dir: Path) -> tuple[Path, dict]:
    """The complete checkpoint of a run with the highest step, loaded: latest.pt, previous.pt, best.pt
    or one a crash left under a temporary name. At equal steps the order above wins."""
    ranked = []
    for rank, path in enumerate([run_dir / n for n in CHECKPOINTS] + _orphans(run_dir)):
        info = peek_checkpoint(path)
        if info is not None:
            ranked.append((-info["step"], rank, path))
    errors = []
    for _, _, path in sorted(ranked):
        try:
            return path, load_checkpoint(path)
        except CheckpointError as exc:
            errors.append(exc)
    present = [run_dir / n for n in CHECKPOINTS if (run_dir / n).is_file()]
    if not errors and len(present) == 1:
        return present[0], load_checkpoint(present[0])  # its own clear error if it fails
    if errors or present:
        names = ", ".join(p.name for p in present) or "the checkpoints"
        raise CheckpointError(
            f"{run_dir}: no complete checkpoint to resume from ({names}: damaged or unreadable); "
            f"start a new run, or resume a copy of the run if you have one"
        )
    raise CheckpointError(f"{run_dir}: run has no checkpoint yet; train it for a few steps first")


def remove_stale_temps(run_dir: Path) -> int:
    """Delete temporary files that a process which died mid-write left in a run folder.
    Only the process that holds the run's lock may call this (no one else writes there)."""
    removed = 0
    for name in list_names(run_dir):
        match = TEMP_NAME.match(name)
        if match and int(match.group(2) or match.group(3)) != os.getpid():
            try:
                (run_dir / name).unlink()
                removed += 1
            except OSError:
                pass
    return removed


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint without running anything from it, or raise CheckpointError."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()
        detail = next(
            (ln.strip() for ln in first if "GLOBAL" in ln or "Unsupported" in ln), "it holds objects other than tensors"
        )
        raise CheckpointError(
            f"{path}: refused, not a plain rnn-tui checkpoint ({detail}); nothing from it was run"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CheckpointError(
            f"{path}: corrupt or truncated checkpoint ({first_line(exc)}){_alternatives(path)}"
        ) from None
    except Exception as exc:  # noqa: BLE001 - any other failure to parse is still a bad file, never a traceback
        raise CheckpointError(
            f"{path}: corrupt or unreadable checkpoint ({first_line(exc)}){_alternatives(path)}"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(
            f"{path}: not an rnn-tui checkpoint (written by another program?); pass a run name or a .pt file from an "
            "rnn-tui run"
        )
    version = state.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {version} is newer than this rnn-tui reads (version "
            f"{FORMAT_VERSION}); upgrade rnn-tui"
        )
    for key in ("config", "vocab", "model"):
        if key not in state:
            raise CheckpointError(f"{path}: checkpoint lacks {key!r}; it is incomplete{_alternatives(path)}")
    return state


def _alternatives(path: Path) -> str:
    # Only files that are whole (a complete zip archive, as torch writes) are called intact.
    others = [path.with_name(n) for n in CHECKPOINTS if n != path.name and _looks_whole(path.with_name(n))]
    if not others:
        return ""
    return "; the other checkpoint(s) are intact: " + ", ".join(str(p) for p in others)


def _looks_whole(path: Path) -> bool:
    try:
        return path.is_file() and not path.is_symlink() and path.stat().st_size > 0 and zipfile.is_zipfile(path)
    except OSError:
        return False


def checked_state(state: dict, path: str | os.PathLike) -> dict:
    """Refuse a loaded checkpoint whose values are not what rnn-tui writes (a crafted or damaged file),
    so nothing downstream fails on a wrong type or samples from NaN weights."""
    from rnn_tui.core.config import ARCHITECTURE_FIELDS, CELLS

    path = Path(path)

    def corrupt(what: str) -> CheckpointError:
        return CheckpointError(f"{path}: corrupt checkpoint ({what}){_alternatives(path)}")

    config = state.get("config")
    if not isinstance(config, dict):
        raise corrupt("its config is not a mapping")
    if config.get("cell") not in CELLS:
        raise corrupt(f"unknown cell {shown(str(config.get('cell')))}")
    for key in ARCHITECTURE_FIELDS[1:]:
        value = config.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise corrupt(f"{key} is {shown(str(value))}, not a positive whole number")
    vocab = state.get("vocab")
    if not isinstance(vocab, str) or not vocab or len(set(vocab)) != len(vocab):
        raise corrupt("its vocabulary is not a string of distinct characters")
    step = state.get("step", 0)
    if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step <= MAX_STEP:
        raise corrupt(f"step is {shown(str(step))}, not a whole number from 0 to {MAX_STEP:.0e}")
    best = state.get("best_val_loss")
    if best is not None and (not isinstance(best, (int, float)) or isinstance(best, bool)):
        raise corrupt("best_val_loss is not a number")
    weights = state.get("model")
    if not isinstance(weights, dict) or not weights or not all(isinstance(t, torch.Tensor) for t in weights.values()):
        raise corrupt("its weights are not a mapping of tensors")
    for key, tensor in weights.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(
                f"{path}: the weights are not finite (NaN or inf in {shown(str(key))}); "
                f"this checkpoint cannot sample or resume{_alternatives(path)}"
            )
    return state

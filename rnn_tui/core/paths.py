"""Where this machine keeps rnn-tui's files. ``RNN_TUI_HOME`` overrides it."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def home() -> Path:
    override = os.environ.get("RNN_TUI_HOME")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("rnn-tui", appauthor=False))


def runs_dir(override: str | os.PathLike | None = None) -> Path:
    return Path(override).expanduser() if override else home() / "runs"


def demo_corpus() -> Path:
    """The bundled demo corpus (the Shakespeare tragedies): package data, so a wheel has it too."""
    from importlib.resources import files

    return Path(str(files("rnn_tui") / "data" / "shakespeare_tragedies.txt"))


def check_regular_file(path: Path) -> os.stat_result:
    """Stat the corpus path without opening it, so a FIFO or device never blocks a read."""
    from rnn_tui.core.errors import CorpusError

    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise CorpusError(f"{path}: no such file; pass the path of a text file to train on") from None
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read it ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise CorpusError(f"{path}: is a directory, not a text file; pass the path of one text file")
    if not stat.S_ISREG(st.st_mode):
        raise CorpusError(f"{path}: not a regular file (a FIFO, socket or device); save the text to a file first")
    return st


# ---- run names and the files of a run folder -------------------------------------------------
# Kept here (stdlib only) so the command line can check a name before torch is imported.

MAX_NAME_CHARS = 100
MARKER = "run.json"  # written first into every new run folder: what proves a folder is a run of ours
CHECKPOINT_FILES = ("latest.pt", "previous.pt", "best.pt")
# Everything rnn-tui writes into a run folder; `runs delete` removes these and nothing else.
# live.json, live.sock and trainer.log: a trainer that serves viewers (core/live.py, core/service.py).
RUN_FILES = (
    *CHECKPOINT_FILES,
    "metrics.jsonl",
    "error.log",
    "config.json",
    MARKER,
    "lock",
    "live.json",
    "live.sock",
    "trainer.log",
)
SAMPLES_DIR = "samples"


def run_name_problem(name: str) -> str | None:
    """What makes ``name`` unusable as a run name (one plain folder name), or None."""
    if not name:
        return "is empty"
    if name in (".", ".."):
        return "is not a name"
    if "/" in name or "\\" in name or os.sep in name:
        return "holds a path separator; a run name is one folder name (--runs-dir picks where runs live)"
    if len(name) > MAX_NAME_CHARS:
        return f"is {len(name)} characters long; at most {MAX_NAME_CHARS}"
    if not name.isprintable():
        return "holds control or unprintable characters"
    if name[0] in "-.":
        return f"starts with {name[0]!r}"
    if name != name.strip():
        return "starts or ends with a space"
    if len(name.encode("utf-8", "surrogatepass")) > 200:
        return "is too long for a folder name"
    return None


def new_name_problem(name: str) -> str | None:
    """What makes ``name`` unusable for a new run (or a rename): a plain name that ``last`` is not,
    since RUN ``last`` means the most recently trained run."""
    if name == "last":
        return "is reserved: RUN `last` means the most recently trained run"
    return run_name_problem(name)


def shown(text: str, limit: int = 40) -> str:
    """A user's text quoted for an error line: escaped and cut, so the line stays one short line."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def check_run_name(name: str, what: str = "--name") -> str:
    from rnn_tui.core.errors import RunError

    problem = new_name_problem(name)
    if problem:
        raise RunError(f"{what} {shown(name)} {problem}; pick a plain name such as shakespeare-lstm")
    return name


def is_run_file(name: str) -> bool:
    """A file rnn-tui itself writes into a run folder (temp files of an interrupted write included)."""
    if name in RUN_FILES:
        return True
    if name.startswith(".write-test-"):
        return True
    if name.startswith(".") and ".tmp-" in name:
        return name[1:].rsplit(".tmp-", 1)[0] in RUN_FILES
    return False


def is_sample_file(name: str) -> bool:
    """A file the sampling screen saves into samples/ (sample-YYYYmmdd-HHMMSS.txt / .json)."""
    stem, _, ext = name.rpartition(".")
    return ext in ("txt", "json") and stem.startswith("sample-") and stem[7:].replace("-", "").isdigit()


def name_taken(root: Path, name: str) -> str | None:
    """Why a new run cannot be named ``name`` in ``root`` (nothing is written to find out), or None."""
    path = root / name
    try:
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            return f"{path} already exists and is not a run folder; pick another --name"
        if not path.is_dir():
            return None
        if (path / "config.json").exists():
            return f"a run named {name} already exists in {root}; pick another --name or --resume it"
        foreign = sorted(p.name for p in path.iterdir() if not is_run_file(p.name))
    except OSError as exc:
        return f"{path}: cannot look inside it ({exc.strerror}); pick another --name"
    if foreign:
        return (
            f"{path} already exists and holds files rnn-tui did not write ({', '.join(foreign[:3])}); pick "
            "another --name"
        )
    return None


def check_new_run_names(root: Path, names: list[str]) -> None:
    """Refuse up front a set of new run names (e.g. NAME-lstm, NAME-gru for --compare) if any is bad or taken."""
    from rnn_tui.core.errors import RunError

    for name in names:
        check_run_name(name)
        reason = name_taken(root, name)
        if reason:
            raise RunError(reason)

"""The demo corpora behind ``rnn-tui --demo NAME``: what each one teaches and the settings that show it.

Two are bundled text (the Shakespeare tragedies and sonnets); two are made on this machine at first
use and cached under the data directory: ``hello`` (four letters, the lessons' first example) and
``python`` (a fixed selection of the running interpreter's standard library, so no download).
Stdlib only: the command line imports this to list the names before torch loads.
"""

from __future__ import annotations

import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Demo:
    name: str
    title: str  # one short line for a list
    blurb: str  # what it teaches, what to watch for
    defaults: dict = field(default_factory=dict)  # TrainConfig overrides, under the user's explicit options


DEMOS: dict[str, Demo] = {
    demo.name: demo
    for demo in (
        Demo(
            "tragedies",
            "Shakespeare's tragedies (1.2 MB)",
            "Eleven plays: first spaces and common letters, then words, names in capitals and verse lines.",
        ),
        Demo(
            "sonnets",
            "Shakespeare's sonnets (96 KB)",
            "A small text a CPU learns fast: words appear within a minute, then the line and stanza shape. "
            "Watch validation loss part from training loss as it starts to memorise.",
            dict(
                hidden_size=128,
                seq_len=64,
                batch_size=32,
                lr=6e-3,
                warmup_steps=30,
                lr_decay=0.97,
                eval_every=50,
                sample_every=3.0,
            ),
        ),
        Demo(
            "hello",
            "hello: four letters, one RNN cell of 8 units",
            "The lessons' first example: learn h→e, e→l, then l→l or l→o, which only the hidden state can "
            "tell apart. Learns in seconds; every unit fits in the gate view.",
            dict(
                cell="rnn",
                layers=1,
                hidden_size=8,
                embed_size=4,
                dropout=0.0,
                seq_len=16,
                batch_size=8,
                lr=0.01,
                weight_decay=0.0,
                warmup_steps=10,
                lr_decay=1.0,
                eval_every=50,
                log_every=1,
                sample_every=1.0,
                sample_length=60,
            ),
        ),
        Demo(
            "python",
            "Python's standard library (about 2 MB of code)",
            "Code from this interpreter's own library: watch indentation, brackets and quotes being learned, "
            "and why whitespace belongs in the vocabulary.",
            dict(seq_len=192, eval_every=200, eval_chars=100_000, sample_length=400),
        ),
    )
}
DEFAULT_DEMO = "tragedies"

BUNDLED = {"tragedies": "shakespeare_tragedies.txt", "sonnets": "shakespeare_sonnets.txt"}
HELLO_REPEATS = 1000  # 5,000 characters: a few hundred steps per epoch would only slow the eval down

# The python corpus: these files of the standard library, in this order (missing ones skipped, so
# another Python version still builds). Modules that moved into packages are listed both ways.
STDLIB_FILES = (
    "abc.py",
    "_collections_abc.py",
    "collections/__init__.py",
    "functools.py",
    "operator.py",
    "copy.py",
    "dataclasses.py",
    "enum.py",
    "typing.py",
    "contextlib.py",
    "heapq.py",
    "bisect.py",
    "queue.py",
    "string.py",
    "textwrap.py",
    "fnmatch.py",
    "glob.py",
    "genericpath.py",
    "posixpath.py",
    "os.py",
    "shutil.py",
    "tempfile.py",
    "pathlib.py",
    "pathlib/__init__.py",
    "json/__init__.py",
    "json/decoder.py",
    "json/encoder.py",
    "csv.py",
    "configparser.py",
    "argparse.py",
    "getopt.py",
    "calendar.py",
    "datetime.py",
    "_pydatetime.py",
    "fractions.py",
    "numbers.py",
    "statistics.py",
    "random.py",
    "difflib.py",
    "pprint.py",
    "reprlib.py",
    "traceback.py",
    "warnings.py",
    "weakref.py",
    "threading.py",
    "selectors.py",
    "socket.py",
    "subprocess.py",
    "logging/__init__.py",
    "base64.py",
    "gzip.py",
    "zipfile.py",
    "zipfile/__init__.py",
    "tokenize.py",
    "ast.py",
    "timeit.py",
    "html/parser.py",
    "urllib/parse.py",
    "uuid.py",
    "graphlib.py",
    "unittest/case.py",
)
MAX_PYTHON_BYTES = 3_000_000  # stop adding files here: the corpus stays 1-3 MB whatever the version
MIN_PYTHON_BYTES = 200_000  # less than this is no standard library worth learning (a zipped or stripped one)
PYTHON_END = "# ---- end of the rnn-tui python demo ----\n"  # a cache without it was cut short: rebuilt


def names() -> str:
    return ", ".join(DEMOS)


def get(name: str) -> Demo:
    from rnn_tui.core.errors import ConfigError

    if name not in DEMOS:
        raise ConfigError(f"--demo {name!r} is not a demo; choose one of {names()}")
    return DEMOS[name]


def demo_path(name: str, progress=None) -> Path:
    """The corpus file of demo ``name``; ``hello`` and ``python`` are written on first use.

    ``progress(done, total)`` is called per file while the python corpus is built.
    """
    get(name)
    if name in BUNDLED:
        return _bundled(BUNDLED[name])
    if name == "hello":
        return _cached(cache_dir() / "hello.txt", _is_hello, hello_text)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return _cached(cache_dir() / f"python-stdlib-{version}.txt", _is_python, lambda: python_text(progress=progress))


def cache_dir() -> Path:
    from rnn_tui.core.paths import home

    return home() / "demos"


def _bundled(file_name: str) -> Path:
    from importlib.resources import files

    from rnn_tui.core.errors import RunError

    path = Path(str(files("rnn_tui") / "data" / file_name))
    if not path.is_file():
        raise RunError(f"the bundled demo corpus is missing ({path}); reinstall rnn-tui or pass a text file")
    return path


def hello_text() -> str:
    return "hello" * HELLO_REPEATS


def _is_hello(text: str) -> bool:
    return text == hello_text()


def python_text(stdlib: str | None = None, progress=None) -> str:
    """The python corpus: each file under a one-line header naming it, in ``STDLIB_FILES`` order."""
    from rnn_tui.core.errors import RunError

    root = Path(stdlib or sysconfig.get_paths()["stdlib"])
    present = [(rel, root / rel) for rel in STDLIB_FILES if (root / rel).is_file()]
    parts, size = [], 0
    for done, (rel, path) in enumerate(present):
        try:
            text = path.read_bytes().decode("utf-8").replace("\r\n", "\n")
        except (OSError, UnicodeDecodeError):
            continue
        part = f"# ---- {rel} ----\n{text}{'' if text.endswith(chr(10)) else chr(10)}\n"
        if size + len(part.encode("utf-8")) > MAX_PYTHON_BYTES:
            break
        parts.append(part)
        size += len(part.encode("utf-8"))
        if progress is not None:
            progress(done + 1, len(present))
    if size < MIN_PYTHON_BYTES:
        raise RunError(
            f"{root}: only {size:,} bytes of the standard library's .py files found, too few for the "
            f"python demo; pick another --demo or pass a text file"
        )
    return "".join(parts) + PYTHON_END


def _is_python(text: str) -> bool:
    return len(text) >= MIN_PYTHON_BYTES and text.endswith(PYTHON_END)


def _cached(path: Path, valid, build) -> Path:
    """``path`` if it holds a valid corpus, else ``build()`` written there atomically (a crash leaves
    the old file or the new one, never half of one)."""
    from rnn_tui.core.errors import RunError
    from rnn_tui.core.files import atomic_write_bytes

    try:
        if valid(path.read_bytes().decode("utf-8")):
            return path
    except (OSError, UnicodeDecodeError):
        pass  # missing, unreadable or damaged: build it again
    data = build().encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise RunError(
            f"{path}: cannot write the demo corpus ({exc.strerror or exc}); set RNN_TUI_HOME to a writable folder"
        ) from None
    return path

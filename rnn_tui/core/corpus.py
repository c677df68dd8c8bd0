"""Read a user's text file into a vocabulary and a compact integer tensor.

The file is read in chunks through an incremental decoder, so a 1 GB corpus
never exists as one Python string and never goes through a per-character
Python loop: each chunk becomes code points with ``str.encode`` and torch does
the rest. Every way a file can be unusable ends in a ``CorpusError`` whose
single line says what is wrong and what to do.
"""

from __future__ import annotations

import codecs
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from rnn_tui.core.errors import CorpusError, UserError
from rnn_tui.core.paths import check_regular_file

CHUNK_BYTES = 8 << 20
VOCAB_WARN = 1000

_MAGIC = {
    b"\x7fELF": "an ELF executable",
    b"\x89PNG": "a PNG image",
    b"PK\x03\x04": "a zip archive (or a PyTorch checkpoint)",
    b"\x1f\x8b": "gzip-compressed",
    b"BZh": "bzip2-compressed",
    b"\xfd7zXZ": "xz-compressed",
    b"7z\xbc\xaf": "a 7-zip archive",
    b"%PDF": "a PDF document",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\x80\x02": "a Python pickle",
    b"\x80\x04": "a Python pickle",
}
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class LoadStopped(UserError):
    """A stop (a signal, q) arrived while the corpus was being read; nothing was written."""

    def __init__(self, signal_number: int | None = None):
        super().__init__("stopped while reading the corpus; nothing was written")
        if signal_number:
            self.exit_code = 128 + signal_number  # as if the signal had ended the process


def storage_dtype(vocab_size: int) -> torch.dtype:
    if vocab_size <= 256:
        return torch.uint8
    if vocab_size <= 32767:
        return torch.int16
    return torch.int32


@dataclass(frozen=True)
class Vocab:
    """The sorted set of characters in the corpus, whitespace included."""

    chars: str
    index: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "index", {ch: i for i, ch in enumerate(self.chars)})

    def __len__(self) -> int:
        return len(self.chars)

    def missing(self, text: str) -> list[str]:
        """Characters of ``text`` the model has never seen, in order of appearance."""
        seen, out = set(), []
        for ch in text:
            if ch not in self.index and ch not in seen:
                seen.add(ch)
                out.append(ch)
        return out

    def encode(self, text: str) -> torch.Tensor:
        missing = self.missing(text)
        if missing:
            raise CorpusError(f"characters not in the vocabulary: {describe_chars(missing)}")
        return torch.tensor([self.index[ch] for ch in text], dtype=torch.long)

    def decode(self, ids) -> str:
        chars = self.chars
        return "".join(chars[int(i)] for i in ids)


def describe_chars(chars) -> str:
    return ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in chars)


@dataclass
class Corpus:
    path: str
    vocab: Vocab
    data: torch.Tensor  # 1-D, compact integer dtype
    sha256: str
    encoding: str
    line_endings: str  # "lf", "crlf", "cr", "mixed" or "none" (as found, before normalising)
    val_frac: float = 0.1
    warnings: list[str] = field(default_factory=list)

    @property
    def n_chars(self) -> int:
        return int(self.data.numel())

    @property
    def split_at(self) -> int:
        return self.n_chars - int(self.n_chars * self.val_frac)

    @property
    def train(self) -> torch.Tensor:
        return self.data[: self.split_at]

    @property
    def val(self) -> torch.Tensor:
        return self.data[self.split_at :]

    def text(self, start: int = 0, stop: int | None = None) -> str:
        return self.vocab.decode(self.data[start:stop].tolist())

    def summary(self) -> dict:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "chars": self.n_chars,
            "vocab_size": len(self.vocab),
            "encoding": self.encoding,
            "line_endings": self.line_endings,
            "normalised_to": "lf",
            "val_frac": self.val_frac,
        }


def _sniff(path: Path, head: bytes, encoding: str | None) -> str:
    for bom, name in _BOMS:
        if head.startswith(bom):
            if encoding is None:
                return name
            break
    if encoding is None:
        for magic, what in _MAGIC.items():
            if head.startswith(magic):
                raise CorpusError(f"{path}: looks like {what}, not text; pass a plain text file")
        return "utf-8"
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise CorpusError(
            f"--encoding {encoding!r} is not an encoding Python knows; try utf-8, latin-1 or cp1252"
        ) from None
    if not getattr(info, "_is_text_encoding", True):  # base64, hex, zlib, rot13, uu: bytes to bytes, not text
        raise CorpusError(
            f"--encoding {encoding!r} is not a text encoding (it turns bytes into bytes); try utf-8, latin-1 or cp1252"
        )
    if info.name in ("utf-16", "utf-32") and not any(head.startswith(bom) for bom, name in _BOMS if name == info.name):
        raise CorpusError(
            f"{path}: does not start with a byte-order mark, which --encoding {encoding} needs; "
            f"if it is {info.name.upper()}, pass --encoding {info.name}-le (or {info.name}-be)"
        )
    return info.name


def _utf16_order(head: bytes) -> str | None:
    """ "le" or "be" when ``head`` looks like mostly-ASCII UTF-16 (every other byte NUL), else None."""
    head = head[:1024]
    for order, nuls in (("le", head[1::2]), ("be", head[0::2])):
        if len(nuls) >= 4 and nuls.count(0) >= 0.9 * len(nuls):
            return order
    return None


class _Reader:
    """Decodes a file chunk by chunk into normalised text, checking as it goes.

    The file is read twice (once for the vocabulary, once to encode), so at no
    point does the whole text exist as Python strings: memory is the encoded
    tensor plus one chunk.
    """

    def __init__(self, path: Path, encoding: str | None, total: int, progress, should_stop=None):
        self.path, self.total, self.progress, self.should_stop = path, total, progress, should_stop
        try:
            self.fh = open(path, "rb")  # noqa: SIM115 - read twice, closed by close()
        except OSError as exc:
            raise CorpusError(f"{path}: cannot open it ({exc.strerror}); check the path and its permissions") from None
        self.codec = _sniff(path, self.fh.read(4), encoding)
        self.hasher = hashlib.sha256()
        self.crlf = self.lone_cr = self.lf = 0

    def close(self) -> None:
        self.fh.close()

    def chunks(self, first_pass: bool):
        path, codec = self.path, self.codec
        self.fh.seek(0)
        wide = codec.startswith(("utf-16", "utf-32"))
        decoder = codecs.getincrementaldecoder(codec)(errors="strict")
        offset = newlines = 0
        carry_cr = False
        first = True
        while True:
            stop = self.should_stop() if self.should_stop is not None else None
            if stop:
                raise LoadStopped(stop if type(stop) is int else None)
            try:
                raw = self.fh.read(CHUNK_BYTES)
            except OSError as exc:
                raise CorpusError(f"{path}: read failed ({exc.strerror})") from None
            final = not raw
            if first_pass:
                self.hasher.update(raw)
                if not wide and b"\x00" in raw:
                    at = offset + raw.index(b"\x00")
                    order = _utf16_order(raw) if offset == 0 else None
                    if order:
                        raise CorpusError(
                            f"{path}: looks like UTF-16 text without a byte-order mark (NUL bytes between "
                            f"the letters); pass --encoding utf-16-{order}"
                        )
                    raise CorpusError(
                        f"{path}: contains a NUL byte at offset {at:,}, so it is binary, not text; "
                        "pass a plain text file"
                    )
            try:
                buffered = len(decoder.getstate()[0])
                text = decoder.decode(raw, final=final)
            except UnicodeDecodeError as exc:
                at = offset - buffered + exc.start
                line = newlines + raw.count(b"\n", 0, max(0, exc.start - buffered)) + 1
                bad = (raw if exc.start >= buffered else b"")[
                    max(0, exc.start - buffered) : max(0, exc.start - buffered) + 1
                ]
                what = f"byte 0x{bad.hex()} " if bad else ""
                hint = (
                    "pass --encoding latin-1 (or cp1252) if that is what it is"
                    if codec.startswith("utf-8")
                    else "check --encoding"
                )
                raise CorpusError(
                    f"{path}: not valid {codec} ({what}at offset {at:,}, line {line:,}); {hint}"
                ) from None
            except Exception as exc:  # noqa: BLE001 - a codec's own complaint (punycode, idna...) is still bad input
                detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:100]
                raise CorpusError(
                    f"{path}: cannot be decoded as {codec} ({detail}) near offset {offset:,}; check --encoding"
                ) from None
            offset += len(raw)
            newlines += raw.count(b"\n")
            if first:
                text = text.lstrip("\ufeff") if text.startswith("\ufeff") else text
                first = False
            if carry_cr:
                text = "\r" + text
                carry_cr = False
            if text.endswith("\r") and not final:
                text, carry_cr = text[:-1], True
            if "\r" in text:
                n_crlf = text.count("\r\n")
                if first_pass:
                    self.crlf += n_crlf
                    self.lone_cr += text.count("\r") - n_crlf
                    self.lf += text.count("\n") - n_crlf
                text = text.replace("\r\n", "\n").replace("\r", "\n")
            elif first_pass:
                self.lf += text.count("\n")
            if text:
                yield text
            if self.progress is not None:
                self.progress(offset + (0 if first_pass else self.total), 2 * self.total)
            if final:
                return

    @property
    def line_endings(self) -> str:
        endings = [name for name, n in (("lf", self.lf), ("crlf", self.crlf), ("cr", self.lone_cr)) if n]
        return endings[0] if len(endings) == 1 else ("mixed" if endings else "none")


def load_corpus(
    path: str | os.PathLike,
    encoding: str | None = None,
    val_frac: float = 0.1,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], object] | None = None,
) -> Corpus:
    """Read, validate and encode a text file.

    ``progress(done, total)`` is called after each chunk (the file is read twice). ``should_stop()``
    is asked before each chunk; a true value (a signal number, or True) raises ``LoadStopped``, so a
    stop is honoured within a chunk's time however large the file.
    """
    path = Path(path)
    total = check_regular_file(path).st_size
    reader = _Reader(path, encoding, total, progress, should_stop)
    try:
        present = torch.zeros(0, dtype=torch.bool)
        n_chars = 0
        for text in reader.chunks(first_pass=True):
            present = _mark_present(present, text)
            n_chars += len(text)
        vocab_chars = "".join(chr(cp) for cp in torch.nonzero(present).flatten().tolist())
        vocab = Vocab(vocab_chars)
        if n_chars == 0:
            raise CorpusError(f"{path}: is empty; pass a text file with at least a few thousand characters")
        if not vocab_chars.strip():
            raise CorpusError(f"{path}: holds only whitespace; pass a text file with some words in it")
        if len(vocab) < 2:
            raise CorpusError(
                f"{path}: has only one distinct character ({describe_chars(vocab_chars)}), nothing to learn; "
                "pass real text"
            )
        dtype = storage_dtype(len(vocab))
        table = torch.full((present.numel(),), -1, dtype=torch.int64)
        table[torch.nonzero(present).flatten()] = torch.arange(len(vocab))
        data = torch.empty(n_chars, dtype=dtype)
        pos = 0
        for text in reader.chunks(first_pass=False):
            if pos + len(text) > n_chars or not _encode_into(data[pos : pos + len(text)], text, table):
                raise CorpusError(f"{path}: changed while it was being read; try again once nothing writes to it")
            pos += len(text)
        if pos != n_chars:
            raise CorpusError(f"{path}: changed while it was being read; try again once nothing writes to it")
    except UnicodeEncodeError as exc:  # a lone surrogate (U+D800..U+DFFF), e.g. from --encoding unicode_escape
        bad = exc.object[exc.start : exc.start + 1] if isinstance(exc.object, str) else ""
        what = f"U+{ord(bad):04X}" if bad else "a lone surrogate"
        raise CorpusError(
            f"{path}: decodes (as {reader.codec}) to {what}, a lone surrogate that is not a character; check --encoding"
        ) from None
    finally:
        reader.close()

    warnings = []
    if len(vocab) > VOCAB_WARN:
        warnings.append(
            f"{path}: {len(vocab):,} distinct characters (more than {VOCAB_WARN:,}); the output layer is large "
            f"and rare characters will be learned poorly"
        )
    return Corpus(
        path=os.path.abspath(path),  # stored in the run: a resume from another directory still finds it
        vocab=vocab,
        data=data,
        sha256=reader.hasher.hexdigest(),
        encoding=reader.codec,
        line_endings=reader.line_endings,
        val_frac=val_frac,
        warnings=warnings,
    )


SLICE_CHARS = 1 << 20  # code points are made a slice at a time, so the transient memory stays small


def _slices(text: str):
    for start in range(0, len(text), SLICE_CHARS):
        yield start, text[start : start + SLICE_CHARS]


def _code_points(text: str) -> torch.Tensor:
    """Code points of ``text`` (uint8 where they all fit in one byte, else int32)."""
    try:
        return torch.frombuffer(bytearray(text.encode("latin-1")), dtype=torch.uint8)
    except UnicodeEncodeError:
        return torch.frombuffer(bytearray(text.encode("utf-32-le")), dtype=torch.int32)


def _encode_into(out: torch.Tensor, text: str, table: torch.Tensor) -> bool:
    """Write the ids of ``text`` into ``out``; False if it holds a character the table does not know."""
    for start, piece in _slices(text):
        cps = _code_points(piece).long()
        if int(cps.max()) >= table.numel():
            return False
        ids = table[cps]
        if bool((ids < 0).any()):
            return False
        out[start : start + len(piece)] = ids
    return True


def _mark_present(present: torch.Tensor, text: str) -> torch.Tensor:
    for _, piece in _slices(text):
        cps = _code_points(piece)
        if cps.dtype == torch.uint8:
            seen = torch.bincount(cps, minlength=256) > 0
        else:
            seen = torch.bincount(torch.unique(cps).long()) > 0
        if seen.numel() > present.numel():
            seen[: present.numel()] |= present
            present = seen
        else:
            present = present.clone()
            present[: seen.numel()] |= seen
    return present


def check_trainable(corpus: Corpus, seq_len: int, batch_size: int) -> list[str]:
    """Refuse a corpus too short for one batch; return warnings for a tiny one."""
    train = corpus.split_at
    need = batch_size * (seq_len + 1)
    if train < need:
        raise CorpusError(
            f"{corpus.path}: {train:,} characters to train on (after the {corpus.val_frac:.0%} validation split) "
            f"but one batch of --batch-size {batch_size} x --seq-len {seq_len} needs {need:,}; "
            f"lower --batch-size or --seq-len, or use a longer text"
        )
    warnings = []
    chunks = (train // batch_size - 1) // seq_len
    if chunks < 10:
        warnings.append(f"small corpus: only {chunks} step(s) per epoch; the model will memorise it quickly")
    if corpus.n_chars - train < 2:
        warnings.append("no validation text (the split is empty); validation loss will not be reported")
    return warnings

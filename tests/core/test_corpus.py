import codecs
import os

import pytest
import torch

from rnn_tui.core.corpus import Vocab, check_trainable, load_corpus
from rnn_tui.core.errors import CorpusError


def write(tmp_path, data: bytes, name="c.txt"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refused(path, *needles, **kwargs):
    with pytest.raises(CorpusError) as info:
        load_corpus(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message
    return message


def test_vocab_is_sorted_characters_with_whitespace(tmp_path):
    c = load_corpus(write(tmp_path, b"ba a\tc\nb"))
    assert c.vocab.chars == "\t\n abc"
    assert c.data.dtype == torch.uint8
    assert c.text() == "ba a\tc\nb"


def test_missing_directory_fifo(tmp_path):
    refused(tmp_path / "nope.txt", "no such file")
    refused(tmp_path, "is a directory")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    refused(fifo, "not a regular file")  # and it returns: never blocks opening the FIFO


def test_unreadable(tmp_path):
    path = write(tmp_path, b"hello world")
    path.chmod(0)
    if os.access(path, os.R_OK):
        pytest.skip("running as a user that can read anything")
    refused(path, "cannot open")


def test_empty_whitespace_and_one_character(tmp_path):
    refused(write(tmp_path, b""), "is empty")
    refused(write(tmp_path, b"  \n\n\t "), "only whitespace")
    refused(write(tmp_path, b"aaaaaaaa"), "one distinct character")


def test_binary_files_are_refused(tmp_path):
    refused(write(tmp_path, b"hello\x00world"), "NUL byte", "offset 5")
    refused(write(tmp_path, b"\x89PNG\r\n\x1a\n" + b"x" * 50), "PNG")
    refused(write(tmp_path, b"\x1f\x8b\x08\x00" + b"x" * 50), "gzip")
    refused(write(tmp_path, b"\x7fELF\x02\x01" + b"x" * 50), "ELF")
    refused(write(tmp_path, b"PK\x03\x04" + b"x" * 50), "zip")


def test_latin1_without_encoding_names_offset_line_and_fix(tmp_path):
    data = "first line\nsecond caf\u00e9 line\n".encode("latin-1")
    message = refused(write(tmp_path, data), "offset 21", "line 2", "--encoding latin-1", "0xe9")
    assert "utf-8" in message
    c = load_corpus(write(tmp_path, data), encoding="latin-1")
    assert "\u00e9" in c.vocab.chars


def test_decode_error_offset_across_chunks(tmp_path, monkeypatch):
    import rnn_tui.core.corpus as corpus_mod

    monkeypatch.setattr(corpus_mod, "CHUNK_BYTES", 16)
    data = b"abcdefghij\nklmnop\nqrstuv\xffwxyz"
    at = data.index(b"\xff")
    refused(write(tmp_path, data), f"offset {at}", "line 3")


def test_bom_stripped_and_utf16_decoded(tmp_path):
    c = load_corpus(write(tmp_path, codecs.BOM_UTF8 + b"hello there"))
    assert "\ufeff" not in c.vocab.chars and c.text() == "hello there"
    c = load_corpus(write(tmp_path, "h\u00e9llo w\u00f6rld".encode("utf-16")))
    assert "\ufeff" not in c.vocab.chars and c.text() == "h\u00e9llo w\u00f6rld"


def test_line_endings_normalised_and_recorded(tmp_path):
    assert load_corpus(write(tmp_path, b"a\r\nb\r\nc")).line_endings == "crlf"
    c = load_corpus(write(tmp_path, b"a\r\nb\rc\nd"))
    assert c.text() == "a\nb\nc\nd" and c.line_endings == "mixed"
    assert "\r" not in c.vocab.chars


def test_crlf_split_across_chunks(tmp_path, monkeypatch):
    import rnn_tui.core.corpus as corpus_mod

    monkeypatch.setattr(corpus_mod, "CHUNK_BYTES", 4)
    c = load_corpus(write(tmp_path, b"abc\r\ndef\r\nghi\r"))
    assert c.text() == "abc\ndef\nghi\n"


def test_korean_emoji_and_vectorised_encoding_matches_reference(tmp_path, monkeypatch):
    import rnn_tui.core.corpus as corpus_mod

    text = "plain ascii then 한국어 텍스트 and 🙂 emoji, e\u0301 combining\n" * 50
    monkeypatch.setattr(corpus_mod, "CHUNK_BYTES", 97)  # many chunks, some ASCII-only, some not
    c = load_corpus(write(tmp_path, text.encode()))
    assert c.vocab.chars == "".join(sorted(set(text)))
    reference = [c.vocab.index[ch] for ch in text]
    assert c.data.tolist() == reference


def test_wide_vocabulary_uses_wider_storage_and_warns(tmp_path):
    text = "".join(chr(0x4E00 + i) for i in range(1200)) * 3
    c = load_corpus(write(tmp_path, text.encode()))
    assert len(c.vocab) == 1200
    assert c.data.dtype == torch.int16
    assert c.text(0, 5) == text[:5]
    assert any("1,200 distinct characters" in w for w in c.warnings)


def test_too_short_for_one_batch_says_how_and_what_to_lower(tmp_path):
    c = load_corpus(write(tmp_path, b"hello world, this is short." * 10))
    with pytest.raises(CorpusError) as info:
        check_trainable(c, seq_len=128, batch_size=64)
    assert "--batch-size" in str(info.value) and "--seq-len" in str(info.value) and "8,256" in str(info.value)


def test_tiny_corpus_warns_and_handles_empty_validation(tmp_path):
    c = load_corpus(write(tmp_path, b"abcdefghij" * 20), val_frac=0.0)
    warnings = check_trainable(c, seq_len=8, batch_size=4)
    assert any("step(s) per epoch" in w for w in warnings)
    assert any("no validation" in w for w in warnings)


def test_split_sizes(small_corpus):
    c = load_corpus(small_corpus, val_frac=0.1)
    assert c.train.numel() + c.val.numel() == c.n_chars
    assert abs(c.val.numel() - c.n_chars * 0.1) <= 1


def test_unknown_encoding(tmp_path):
    refused(write(tmp_path, b"abc"), "--encoding", encoding="no-such-codec")


def test_vocab_missing_names_characters():
    v = Vocab("abc ")
    assert v.missing("a\u00e9b\u00e9x") == ["\u00e9", "x"]


@pytest.mark.parametrize("encoding", ["base64", "rot13", "hex", "zlib", "uu", "bz2"])
def test_an_encoding_that_is_not_a_text_encoding_is_refused_in_one_line(tmp_path, encoding):
    refused(write(tmp_path, b"plain text here\n" * 20), "not a text encoding", encoding=encoding)


def test_codec_failures_and_lone_surrogates_are_one_line(tmp_path):
    text = "Hello world, this is a test.\nLine two!\n" * 20
    refused(write(tmp_path, text.encode()), "cannot be decoded as punycode", encoding="punycode")
    refused(write(tmp_path, b"abc \\ud800 def\n" * 20), "U+D800", "lone surrogate", encoding="unicode_escape")
    no_bom = write(tmp_path, text.encode("utf-16-le"))
    refused(no_bom, "byte-order mark", "--encoding utf-16-le", encoding="utf-16")
    refused(no_bom, "UTF-16", "--encoding utf-16-le")  # not called binary: it is text with NULs between letters
    assert load_corpus(no_bom, encoding="utf-16-le").text() == text


def test_a_stop_while_loading_is_honoured_at_the_next_chunk(tmp_path, monkeypatch):
    import rnn_tui.core.corpus as corpus_mod
    from rnn_tui.core.corpus import LoadStopped

    monkeypatch.setattr(corpus_mod, "CHUNK_BYTES", 64)
    path = write(tmp_path, b"some text to read in many chunks\n" * 200)
    asked = []

    def stop_after_three():
        asked.append(1)
        return len(asked) > 3

    with pytest.raises(LoadStopped, match="stopped while reading the corpus"):
        load_corpus(path, should_stop=stop_after_three)
    assert len(asked) == 4  # not one chunk more
    with pytest.raises(LoadStopped) as info:
        load_corpus(path, should_stop=lambda: 15)  # a signal number
    assert info.value.exit_code == 128 + 15


def test_a_stop_before_the_run_exists_writes_nothing(small_corpus, runs_home):
    from rnn_tui.core.corpus import LoadStopped
    from rnn_tui.core.session import prepare

    with pytest.raises(LoadStopped):
        prepare(str(small_corpus), {"device": "cpu"}, name="stopped", should_stop=lambda: True)
    assert not (runs_home / "runs" / "stopped").exists()


def test_the_corpus_path_is_made_absolute(tmp_path, monkeypatch):
    write(tmp_path, b"hello world\n" * 10, name="rel.txt")
    monkeypatch.chdir(tmp_path)
    c = load_corpus("rel.txt")
    assert c.path == str(tmp_path / "rel.txt") and c.summary()["path"] == c.path

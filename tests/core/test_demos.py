"""The demo corpora: bundled, made on first use (hello, python), cached, and their defaults."""

import os
import sys

import pytest

from rnn_tui.core import demos
from rnn_tui.core.config import TrainConfig
from rnn_tui.core.corpus import check_trainable, load_corpus
from rnn_tui.core.demos import DEFAULT_DEMO, DEMOS, demo_path
from rnn_tui.core.errors import ConfigError, RunError
from rnn_tui.core.orchestrate import RunRequest
from rnn_tui.core.runs import default_name


def test_the_demos_in_order_with_usable_defaults():
    assert list(DEMOS) == ["tragedies", "sonnets", "hello", "python"] and DEFAULT_DEMO == "tragedies"
    assert DEMOS["tragedies"].defaults == {}  # today's defaults
    for name, demo in DEMOS.items():
        assert demo.name == name and demo.title and "\n" not in demo.title and demo.blurb
        TrainConfig().with_changes(**demo.defaults).validated()
    hello = DEMOS["hello"].defaults
    assert (hello["cell"], hello["layers"], hello["hidden_size"]) == ("rnn", 1, 8)


def test_an_unknown_demo_is_refused_naming_the_demos():
    with pytest.raises(ConfigError, match="tragedies, sonnets, hello, python"):
        demo_path("nope")


def test_the_bundled_demos_are_package_data():
    assert demo_path("tragedies").name == "shakespeare_tragedies.txt"
    sonnets = demo_path("sonnets")
    assert 90_000 < sonnets.stat().st_size < 100_000 and "From fairest creatures" in sonnets.read_text("utf-8")


def test_hello_has_four_letters_and_only_the_lessons_transitions(runs_home):
    path = demo_path("hello")
    assert path.is_relative_to(runs_home)
    text = path.read_text("utf-8")
    assert set(text) == set("helo")
    assert {text[i : i + 2] for i in range(len(text) - 1)} == {"he", "el", "ll", "lo", "oh"}
    config = TrainConfig().with_changes(**DEMOS["hello"].defaults)
    corpus = load_corpus(path, val_frac=config.val_frac)
    assert corpus.vocab.chars == "ehlo" and corpus.n_chars - corpus.split_at >= 200  # a validation split to score
    check_trainable(corpus, config.seq_len, config.batch_size)  # one batch fits (raises otherwise)


def test_a_tampered_hello_corpus_is_written_again(runs_home):
    path = demo_path("hello")
    path.write_text("hello\n", encoding="utf-8")
    assert demo_path("hello").read_text("utf-8") == demos.hello_text()


def test_the_python_corpus_is_deterministic_sized_and_named(runs_home, tmp_path, monkeypatch):
    first = demo_path("python")
    assert first.is_relative_to(runs_home)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert first.name == f"python-stdlib-{version}.txt"
    assert 1_000_000 <= first.stat().st_size <= 3_000_000
    monkeypatch.setenv("RNN_TUI_HOME", str(tmp_path / "other-home"))
    second = demo_path("python")
    assert second != first and second.read_bytes() == first.read_bytes()
    text = first.read_text("utf-8")
    assert text.startswith("# ---- abc.py ----\n") and "\n    def " in text and set("()[]{}'\"") <= set(text)
    assert default_name(str(first), "lstm").startswith("python-stdlib-")
    assert default_name(str(demo_path("hello")), "rnn").startswith("hello-rnn-")


def test_the_python_corpus_is_cached_and_a_damaged_cache_rebuilt(runs_home, monkeypatch):
    path = demo_path("python")
    good = path.read_bytes()
    stamp = path.stat().st_mtime_ns
    built = []
    real = demos.python_text
    monkeypatch.setattr(demos, "python_text", lambda **kw: built.append(1) or real(**kw))
    assert demo_path("python") == path and path.stat().st_mtime_ns == stamp and built == []
    for damage in (b"", good[: len(good) // 2], b"\xff\xfe" + good[2:]):
        path.write_bytes(damage)
        assert demo_path("python").read_bytes() == good
    assert len(built) == 3
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp file left behind


def test_the_python_corpus_keeps_its_order_and_skips_missing_files(tmp_path):
    stdlib = tmp_path / "lib"
    (stdlib / "json").mkdir(parents=True)
    body = "def f(x):\n    return [x, (x,), {x: 'x'}]\n" * 6000  # enough to pass the size floor
    for rel in ("typing.py", "json/decoder.py", "abc.py"):  # created out of order
        (stdlib / rel).write_text(body, encoding="utf-8")
    text = demos.python_text(str(stdlib))
    headers = [line for line in text.splitlines() if line.startswith("# ---- ")]
    assert headers == [
        "# ---- abc.py ----",
        "# ---- typing.py ----",
        "# ---- json/decoder.py ----",
        demos.PYTHON_END.strip(),
    ]


def test_a_standard_library_too_small_for_the_demo_is_one_clear_error(tmp_path):
    (tmp_path / "abc.py").write_text("x = 1\n", encoding="utf-8")
    with pytest.raises(RunError, match="too few for the python demo"):
        demos.python_text(str(tmp_path))


def test_an_unwritable_data_directory_is_one_clear_error(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("RNN_TUI_HOME", str(blocker))
    with pytest.raises(RunError, match="cannot write the demo corpus.*RNN_TUI_HOME"):
        demo_path("hello")


def test_explicit_options_beat_the_demo_defaults():
    r = RunRequest.from_options({"demo": "hello", "hidden_size": 32, "lr": 0.5, "max_steps": 3})
    assert r.demo == "hello" and r.corpus is None
    assert r.overrides["hidden_size"] == 32 and r.overrides["lr"] == 0.5 and r.overrides["max_steps"] == 3
    assert r.overrides["cell"] == "rnn" and r.overrides["layers"] == 1  # the demo's, not asked otherwise
    assert r.corpus_path() == str(demo_path("hello"))
    r.check()
    assert RunRequest.from_options({"demo": "sonnets", "compare": "rnn,gru"}).overrides["max_time"] == 300.0


def test_a_bare_request_still_trains_the_tragedies_with_todays_defaults():
    r = RunRequest.from_options({})
    assert r.demo is None and r.overrides == {} and r.corpus_path().endswith("shakespeare_tragedies.txt")


@pytest.mark.parametrize(
    "options,needle",
    [
        ({"demo": "hello", "corpus": "notes.txt"}, "--demo and a corpus file: pick one"),
        ({"demo": "hello", "resume": "r"}, "--demo and --resume: pick one"),
        ({"demo": "nope"}, "choose one of tragedies, sonnets, hello, python"),
    ],
)
def test_a_demo_conflicting_with_other_options_is_refused(options, needle):
    with pytest.raises(ConfigError, match=needle):
        RunRequest.from_options(options)


def test_a_request_built_by_a_face_checks_its_demo_name():
    with pytest.raises(ConfigError, match="is not a demo"):
        RunRequest(demo="nope").check()


def test_a_failed_cache_write_leaves_the_old_file_and_no_temp_file(runs_home, monkeypatch):
    from rnn_tui.core import files

    path = demo_path("hello")
    path.write_text("hello\n", encoding="utf-8")  # tampered: it will be written again

    def full_disk(target):
        fh = open(target, "wb")
        fh.write(b"hel")
        fh.close()
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files, "create_file", full_disk)
    with pytest.raises(RunError, match="cannot write the demo corpus .No space left"):
        demo_path("hello")
    assert path.read_text("utf-8") == "hello\n" and os.listdir(path.parent) == ["hello.txt"]

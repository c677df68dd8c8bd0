"""Run names are one plain folder name: never a way out of the runs folder."""

import pytest

from rnn_tui.core.errors import RunError
from rnn_tui.core.paths import (
    check_new_run_names,
    check_run_name,
    is_run_file,
    is_sample_file,
    name_taken,
    run_name_problem,
)
from rnn_tui.core.runs import default_name


@pytest.mark.parametrize(
    "name",
    [
        "../../escaped",
        "/abs/path",
        ".",
        "..",
        "a/b",
        "a\\b",
        "x" * 101,
        "",
        "-rf",
        ".hidden",
        " padded",
        "tab\tname",
        "esc\x1b[31m",
        "nul\x00",
        "bad\udcff",
    ],
)
def test_unsafe_names_are_refused_in_one_line(name):
    assert run_name_problem(name)
    with pytest.raises(RunError) as info:
        check_run_name(name)
    message = str(info.value)
    assert "\n" not in message and "\x1b" not in message and len(message) < 200


@pytest.mark.parametrize("name", ["t", "shakespeare-lstm-20240101-120000", "a.b_c-d", "x" * 100, "Ωmega", "run 2"])
def test_plain_names_pass(name):
    assert check_run_name(name) == name


@pytest.mark.parametrize("stem", ["-rf", "..x", "a\x1bb", "x" * 300, "../up", " ", "a b"])
def test_default_names_from_any_corpus_file_name_are_safe(stem):
    assert run_name_problem(default_name(f"/some/dir/{stem}.txt", "lstm")) is None


def test_what_counts_as_our_file():
    for name in (
        "latest.pt",
        "previous.pt",
        "best.pt",
        "metrics.jsonl",
        "config.json",
        "run.json",
        "lock",
        "error.log",
        ".latest.pt.tmp-123",
        ".config.json.tmp-9",
        ".write-test-42",
    ):
        assert is_run_file(name), name
    for name in ("main.py", "notes.txt", ".git", ".bashrc.tmp-1", "latest.pt.bak", "src"):
        assert not is_run_file(name), name
    assert is_sample_file("sample-20240101-120000.txt") and is_sample_file("sample-20240101-120000.json")
    assert not is_sample_file("keep.txt") and not is_sample_file("sample-notes.txt")


def test_a_taken_name_is_named_before_anything_is_written(tmp_path):
    (tmp_path / "cm-gru").mkdir()
    (tmp_path / "cm-gru" / "config.json").write_text("{}")
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "main.py").write_text("x")
    (tmp_path / "leftover").mkdir()
    (tmp_path / "leftover" / "lock").write_text("")
    (tmp_path / "afile").write_text("x")
    assert "already exists" in name_taken(tmp_path, "cm-gru")
    assert "main.py" in name_taken(tmp_path, "proj")
    assert "not a run folder" in name_taken(tmp_path, "afile")
    assert name_taken(tmp_path, "leftover") is None  # only our own files: a start that died early
    assert name_taken(tmp_path, "free") is None
    with pytest.raises(RunError, match="cm-gru already exists"):
        check_new_run_names(tmp_path, ["cm-lstm", "cm-gru"])
    before = sorted(p.name for p in tmp_path.iterdir())
    check_new_run_names(tmp_path, ["cm-lstm", "cm-rnn"])
    assert sorted(p.name for p in tmp_path.iterdir()) == before

import json
import os
import signal
import subprocess
import time

import pytest

from tests.conftest import PYTHON, REPO, cli_env

TINY = [
    "--hidden-size",
    "32",
    "--embed-size",
    "16",
    "--layers",
    "1",
    "--seq-len",
    "32",
    "--batch-size",
    "8",
    "--precision",
    "fp32",
    "--device",
    "cpu",
    "--sample-every",
    "0",
    "--threads",
    "1",
]


def rnn_tui(home, *args, input=None, timeout=120):
    return subprocess.run(
        [PYTHON, "-m", "rnn_tui", *args],
        capture_output=True,
        text=True,
        env=cli_env(home),
        cwd=REPO,
        input=input,
        timeout=timeout,
    )


def assert_clear_error(proc, *needles):
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnn-tui: error:"), proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory):
    """One trained run for the whole module (the tests below only read it): (home, the training's output)."""
    from tests.conftest import DEMO

    home = tmp_path_factory.mktemp("trained") / "home"
    corpus = home.parent / "small.txt"
    corpus.write_text(DEMO.read_text(encoding="utf-8")[:60_000], encoding="utf-8")
    proc = rnn_tui(home, str(corpus), "--headless", "--max-steps", "30", "--name", "t", *TINY)
    assert proc.returncode == 0, proc.stderr
    return home, proc


@pytest.fixture
def trained(trained_home):
    return trained_home[1]


@pytest.fixture
def shared_home(trained_home):
    return trained_home[0]


def test_headless_trains_saves_and_prints_the_run_folder_last(trained, shared_home):
    last = trained.stdout.strip().splitlines()[-1]
    assert last == str(shared_home / "runs" / "t")
    assert (shared_home / "runs" / "t" / "latest.pt").is_file()
    assert "finished at step 30" in trained.stdout
    rows = [json.loads(line) for line in open(shared_home / "runs" / "t" / "metrics.jsonl")]
    assert rows[-1]["step"] == 30


def test_sample_prints_the_prime_the_text_and_a_newline_and_is_seeded(trained, shared_home):
    a = rnn_tui(shared_home, "sample", "t", "--length", "120", "--seed", "4", "--prime", "The ")
    b = rnn_tui(shared_home, "sample", "t", "--length", "120", "--seed", "4", "--prime", "The ")
    assert a.returncode == 0 and a.stdout == b.stdout and a.stderr == ""
    assert a.stdout.startswith("The ") and a.stdout.endswith("\n") and len(a.stdout) in (124, 125)
    folder = rnn_tui(shared_home, "sample", str(shared_home / "runs" / "t"), "--length", "50", "--greedy")
    file = rnn_tui(shared_home, "sample", str(shared_home / "runs" / "t" / "latest.pt"), "--length", "50", "--greedy")
    assert folder.stdout == file.stdout and len(folder.stdout) in (50, 51) and folder.stdout.endswith("\n")


def test_runs_list_show_delete(trained, shared_home, runs_home):
    import shutil

    shutil.copytree(shared_home / "runs", runs_home / "runs")  # a copy of its own: this test deletes it
    listing = rnn_tui(runs_home, "runs")
    assert listing.returncode == 0 and "NAME" in listing.stdout and "t " in listing.stdout and "1x32" in listing.stdout
    show = rnn_tui(runs_home, "runs", "show", "t")
    assert "latest.pt" in show.stdout and "steps       30" in show.stdout
    refused = rnn_tui(runs_home, "runs", "delete", "t")
    assert refused.returncode == 2 and (runs_home / "runs" / "t").exists()
    gone = rnn_tui(runs_home, "runs", "delete", "t", "--yes")
    assert gone.returncode == 0 and not (runs_home / "runs" / "t").exists()


def test_trace_json(trained, shared_home):
    proc = rnn_tui(shared_home, "trace", "t", "--text", "The king", "--json")
    data = json.loads(proc.stdout)
    assert data["cell"] == "lstm" and data["chars"] == list("The king")
    assert set(data["layers"][0]) == {"i", "f", "g", "o", "c", "h"}
    assert len(data["layers"][0]["i"]) == 8 and len(data["layers"][0]["i"][0]) == 32
    assert len(data["top"][0]) == 5


def test_trace_reads_only_a_bounded_regular_file(trained, shared_home, tmp_path):
    """A FIFO once blocked `trace` forever, /dev/zero read until MemoryError, and 1 MB took 37 s."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    big = tmp_path / "big.txt"
    big.write_text("x" * 20_001)
    cases = {
        str(fifo): "not a regular file",
        "/dev/zero": "not a regular file",
        str(big): "more than 20,000 characters",
        str(tmp_path / "missing.txt"): "cannot open it",
    }
    for path, needle in cases.items():
        proc = rnn_tui(shared_home, "trace", "t", "--text-file", path, timeout=60)
        assert_clear_error(proc, needle)
    assert_clear_error(rnn_tui(shared_home, "trace", "t", "--text", "y" * 20_001), "at most 20,000")
    ok = tmp_path / "ok.txt"
    ok.write_text("The king")
    data = json.loads(rnn_tui(shared_home, "trace", "t", "--text-file", str(ok)).stdout)
    assert data["chars"] == list("The king")


@pytest.mark.parametrize(
    "args,needles",
    [
        (["missing.txt", "--headless"], ["no such file"]),
        (["--headless", "--lr", "0"], ["--lr"]),
        (["", "--headless"], ["corpus path is empty"]),
        (["runs", "--runs-dir", "/etc/hostname"], ["not a runs folder"]),
        (["stop", "x", "--timeout", "nan"], ["--timeout"]),
        (["stop", "x", "--timeout", "-1"], ["--timeout"]),
        (["--headless", "--lr", "nan"], ["--lr"]),
        (["--headless", "--lr", "inf"], ["--lr"]),
        (["--headless", "--dropout", "1"], ["--dropout", "[0, 1)"]),
        (["--headless", "--hidden-size", "-3"], ["--hidden-size"]),
        (["--headless", "--batch-size", "0"], ["--batch-size"]),
        (["--headless", "--device", "cuda"], ["CUDA is not available", "cpu"]),
        (["--headless", "--device", "cuda:3"], ["cuda:3"]),
        (["--headless", "--device", "mps"], ["mps"]),
        (["--headless", "--layers", "two"], ["--layers", "two"]),
        (["--headless", "--seed", "99999999999999999999999"], ["--seed", "2**63-1"]),
        (["--headless", "--seed", "-1"], ["--seed"]),
        (["--headless", "--lr", "1e300"], ["--lr", "(0, 10]"]),
        (["--headless", "--layers", "100000"], ["--layers 100000", "billion parameters", "GB"]),
        (["--headless", "--hidden-size", "1000000"], ["--hidden-size 1000000", "parameters"]),
        (["--headless", "--threads", "1000000"], ["--threads", "4,096"]),
    ],
)
def test_bad_options_are_one_clear_line(runs_home, args, needles):
    assert_clear_error(rnn_tui(runs_home, *args), *needles)


def test_bad_corpora_are_one_clear_line(runs_home, tmp_path):
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\u00e9 ".encode("latin-1") * 100)
    assert_clear_error(rnn_tui(runs_home, str(latin), "--headless"), "--encoding latin-1", "offset 3")
    binary = tmp_path / "model.pt"
    binary.write_bytes(b"PK\x03\x04" + os.urandom(200))
    assert_clear_error(rnn_tui(runs_home, str(binary), "--headless"), "not text")
    short = tmp_path / "short.txt"
    short.write_text("a short text " * 20)
    assert_clear_error(rnn_tui(runs_home, str(short), "--headless"), "--seq-len", "--batch-size")
    assert_clear_error(rnn_tui(runs_home, str(tmp_path), "--headless"), "directory")


def test_bad_sample_inputs(trained, shared_home):
    assert_clear_error(rnn_tui(shared_home, "sample", "nope"), "no such run")
    assert_clear_error(rnn_tui(shared_home, "sample", "t", "--temperature", "-1"), "--temperature")
    assert_clear_error(rnn_tui(shared_home, "sample", "t", "--prime", "\u00c6x"), "U+00C6")
    assert_clear_error(rnn_tui(shared_home, "sample", "t", "--length", "100000000"), "--length")
    assert_clear_error(rnn_tui(shared_home, "sample", "t", "--seed", "99999999999999999999999"), "--seed", "2**63-1")


def test_app_without_a_terminal_suggests_headless(runs_home, small_corpus):
    assert_clear_error(rnn_tui(runs_home, str(small_corpus)), "--headless", "ssh -t")


@pytest.mark.slow
def test_a_signal_while_the_corpus_loads_exits_as_that_signal(runs_home, tmp_path):
    """SIGTERM while a large corpus is read once exited 2 with "error:", as if the input were wrong."""
    big = tmp_path / "big.txt"
    with open(big, "w") as fh:
        for _ in range(16):
            fh.write(("the quick brown fox jumps over the lazy dog\n" * 100_000) * 2)
    proc = subprocess.Popen(
        [PYTHON, "-m", "rnn_tui", str(big), "--headless", "--name", "big", *TINY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(runs_home),
        cwd=REPO,
    )
    first = proc.stdout.readline()  # the first "reading the corpus" line: loading has begun
    assert "reading the corpus" in first, first
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert err.strip() == "rnn-tui: stopped while reading the corpus; nothing was written"
    assert not (runs_home / "runs" / "big").exists()


@pytest.mark.parametrize("signum,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_signals_save_and_exit(runs_home, small_corpus, signum, code):
    proc = subprocess.Popen(
        [PYTHON, "-m", "rnn_tui", str(small_corpus), "--headless", "--name", "sig", *TINY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(runs_home),
        cwd=REPO,
    )
    metrics = runs_home / "runs" / "sig" / "metrics.jsonl"
    deadline = time.monotonic() + 60
    while not (metrics.exists() and metrics.stat().st_size > 0) and time.monotonic() < deadline:
        time.sleep(0.1)
    sent = time.monotonic()
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 5
    assert proc.returncode == code, err
    assert (runs_home / "runs" / "sig" / "latest.pt").is_file()
    assert out.strip().splitlines()[-1].endswith("sig")
    resumed = rnn_tui(runs_home, "--headless", "--resume", "sig", "--max-steps", "200", "--threads", "1")
    assert resumed.returncode == 0, resumed.stderr


def test_gradflow_json(trained, shared_home):
    proc = rnn_tui(shared_home, "gradflow", "t", "--json", "--length", "40")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["cell"] == "lstm" and data["distance"] == list(range(40))
    assert len(data["layers"]) == 1 and len(data["layers"][0]) == 40 and len(data["initial"][0]) == 40
    table = rnn_tui(shared_home, "gradflow", "t")
    assert "distance" in table.stdout and "layer 1" in table.stdout


def test_headless_compare_saves_each_run_and_prints_a_table(runs_home, small_corpus):
    proc = rnn_tui(
        runs_home,
        str(small_corpus),
        "--headless",
        "--compare",
        "gru,rnn",
        "--match-params",
        "--max-steps",
        "25",
        "--name",
        "c",
        *TINY,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[-2:] == [str(runs_home / "runs" / "c-gru"), str(runs_home / "runs" / "c-rnn")]
    header = next(i for i, line in enumerate(lines) if line.startswith("cell"))
    assert lines[header + 1].startswith("gru") and lines[header + 2].startswith("rnn")
    from rnn_tui.core.checkpoint import load_checkpoint

    rnn_hidden = load_checkpoint(runs_home / "runs" / "c-rnn" / "latest.pt")["config"]["hidden_size"]
    assert rnn_hidden > 32  # sized up to the GRU's parameter count


def test_compare_flag_errors(runs_home):
    assert_clear_error(rnn_tui(runs_home, "--headless", "--compare", "rnn,cnn"), "--compare")
    assert_clear_error(rnn_tui(runs_home, "--headless", "--match-params"), "--compare")

"""One way to start a run: the request the CLI builds and the orchestrator both faces drive."""

import signal

import pytest

from rnn_tui.core import events as ev
from rnn_tui.core.errors import ConfigError, UserError
from rnn_tui.core.orchestrate import Orchestrator, RunRequest, signal_reason

TINY = dict(
    layers=1,
    hidden_size=16,
    embed_size=8,
    seq_len=16,
    batch_size=4,
    eval_every=5,
    eval_chars=500,
    log_every=1,
    sample_every=0,
    save_every=0,
    precision="fp32",
    device="cpu",
    threads=1,
)


def test_options_become_one_request():
    r = RunRequest.from_options({"corpus": "a.txt", "name": "x", "max_steps": 3, "cell": "gru"})
    assert (r.corpus, r.name, r.overrides) == ("a.txt", "x", {"max_steps": 3, "cell": "gru"})
    c = RunRequest.from_options({"compare": "rnn,gru"})
    assert c.compare == ("rnn", "gru") and c.overrides["max_time"] == 300.0  # a budget is required
    with pytest.raises(ConfigError):
        RunRequest.from_options({"compare": "rnn,gru", "resume": "r"})
    with pytest.raises(ConfigError):
        RunRequest.from_options({"match_params": True})


def test_the_demo_corpus_is_the_default_only_for_a_new_run():
    assert RunRequest().corpus_path().endswith("shakespeare_tragedies.txt")
    assert RunRequest(resume="r").corpus_path() is None


def test_stop_reasons_name_the_signal():
    assert signal_reason(signal.SIGTERM) == "signal SIGTERM"
    assert signal_reason(signal.SIGHUP) == "signal SIGHUP"


def test_a_signal_while_the_corpus_loads_ends_as_that_signal(small_corpus, runs_home):
    o = Orchestrator(RunRequest(str(small_corpus), dict(TINY), name="early"), lambda e: None)
    o.stop(signal_reason(signal.SIGTERM), signal.SIGTERM)
    with pytest.raises(UserError) as caught:
        o.run()
    assert caught.value.exit_code == 128 + signal.SIGTERM
    assert not (runs_home / "runs" / "early").exists()


def test_compare_runs_each_cell_and_says_which(small_corpus, runs_home):
    events = []
    request = RunRequest(str(small_corpus), dict(TINY, max_steps=6), name="cmp", compare=("rnn", "gru"))
    results = Orchestrator(request, events.append).run()
    assert [type(r) for r in results] == [ev.Finished, ev.Finished]
    started = [e for e in events if isinstance(e, ev.CompareStarted)]
    assert [(e.index, e.total, e.cell) for e in started] == [(0, 2, "rnn"), (1, 2, "gru")]
    measured = [e for e in events if isinstance(e, ev.CompareMeasured)]
    assert [m.cell for m in measured] == ["rnn", "gru", None]
    assert all(m.decay is not None and m.decay > 0 for m in measured[:2])
    assert (runs_home / "runs" / "cmp-rnn" / "latest.pt").exists()
    assert (runs_home / "runs" / "cmp-gru" / "latest.pt").exists()


def test_a_stop_between_compared_runs_starts_no_more(small_corpus, runs_home):
    holder = {}

    def sink(event):
        if isinstance(event, ev.Finished):
            holder["o"].stop("quit")

    request = RunRequest(str(small_corpus), dict(TINY, max_steps=4), name="halt", compare=("rnn", "gru", "lstm"))
    holder["o"] = o = Orchestrator(request, sink)
    assert len(o.run()) == 1
    assert not (runs_home / "runs" / "halt-gru").exists()

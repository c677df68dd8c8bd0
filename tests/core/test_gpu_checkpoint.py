"""A checkpoint written on a GPU loads, samples, traces and resumes on a CPU-only machine.

CI has no GPU, so the test writes a checkpoint whose storages are tagged ``cuda:0`` exactly as
``torch.save`` tags tensors that live on a GPU (through torch's own location-tag registry).
"""

import pickle

import pytest
import torch

from rnn_tui.core import events as ev
from rnn_tui.core.checkpoint import load_checkpoint
from rnn_tui.core.config import SampleConfig
from rnn_tui.core.corpus import Vocab
from rnn_tui.core.gates import trace
from rnn_tui.core.model import build_from_weights
from rnn_tui.core.sampling import sample_text
from tests.core.helpers import train


def save_as_if_on_gpu(state, path):
    def tag_cuda(storage):
        return "cuda:0" if storage.device.type == "cpu" else None

    entry = (1, tag_cuda, lambda obj, location: None)
    torch.serialization._package_registry.append(entry)
    torch.serialization._package_registry.sort(key=lambda e: e[0])
    try:
        torch.save(state, path)
    finally:
        torch.serialization._package_registry.remove(entry)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only path")
def test_gpu_checkpoint_samples_traces_and_resumes_on_cpu(small_corpus, runs_home):
    _, _, run = train(small_corpus, name="gpu", max_steps=10)
    path = run.checkpoint("latest")
    state = torch.load(path, weights_only=True)
    state["rng"]["cuda"] = [torch.zeros(16, dtype=torch.uint8)]
    save_as_if_on_gpu(state, path)
    with pytest.raises((RuntimeError, pickle.UnpicklingError), match="CUDA"):
        torch.load(path, weights_only=True)  # the file really says "cuda"
    loaded = load_checkpoint(path)
    assert all(t.device.type == "cpu" for t in loaded["model"].values())
    model = build_from_weights(loaded["config"], loaded["vocab"], loaded["model"])
    vocab = Vocab(loaded["vocab"])
    assert len(sample_text(model, vocab, SampleConfig(prime="The", length=30, seed=1))) == 30
    assert trace(model, vocab, "The king").chars == tuple("The king")
    result, _, _ = train(None, resume="gpu", max_steps=15)
    assert isinstance(result, ev.Finished) and result.step == 15

import queue

from rnn_tui.core import events as ev
from rnn_tui.core.session import prepare
from rnn_tui.core.trainer import Trainer
from tests.conftest import tiny_config


def overrides(**changes):
    return tiny_config(**changes).to_dict()


def train(corpus, name="run", resume=None, commands=None, hook=None, defer=None, report_interval=None, **changes):
    prepared = prepare(
        str(corpus) if corpus else None,
        overrides(**changes) if not resume else changes,
        name=None if resume else name,
        resume=resume,
    )
    trainer = Trainer(prepared.config, prepared.corpus, prepared.run, resume=prepared.resume)
    if hook:
        trainer.step_hook = hook(trainer)
    trainer.defer_checks = defer  # True: the GPU's step that never waits for the device, on the CPU
    if report_interval is not None:
        trainer.report_interval = report_interval
    events = []
    try:
        result = trainer.run(events.append, commands if commands is not None else queue.Queue())
    finally:
        prepared.lock.release()
    return result, events, prepared.run


def losses(events):
    return [pair for e in events if isinstance(e, ev.Progress) for pair in e.losses]

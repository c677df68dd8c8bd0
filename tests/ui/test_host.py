"""The screens' contract (ui/host.py): both apps keep it, no screen or widget reaches past it,
and a worker that fails is shown rather than lost."""

import ast
import inspect
from pathlib import Path

import pytest
from textual.app import App

from rnn_tui.ui.app import RnnTuiApp
from rnn_tui.ui.base import RnnTuiBase
from rnn_tui.ui.host import ScreenHost
from rnn_tui.ui.screens.gradflow import GradFlowScreen
from rnn_tui.ui.viewer import ViewerApp
from tests.ui.helpers import snapshot, wait_for

UI = Path(__file__).resolve().parents[2] / "rnn_tui" / "ui"
MEMBERS = sorted(name for name in vars(ScreenHost) if not name.startswith("_"))
TEXT = "the quick brown fox jumps over the lazy dog\n" * 10
FRAMEWORK = set(dir(App())) - set(MEMBERS)  # Textual's own App API, instance attributes (console, size) too


def viewer():
    return ViewerApp((snapshot("lstm", layers=1, hidden=16, text=TEXT), None), "gates", validation_text=TEXT)


@pytest.mark.parametrize("make", [RnnTuiApp, viewer], ids=["training app", "viewer"])
def test_both_apps_keep_the_contract(make):
    app = make()
    assert isinstance(app, ScreenHost) and isinstance(app, RnnTuiBase)
    for name in MEMBERS:
        wanted = inspect.getattr_static(ScreenHost, name)
        if callable(wanted):
            have = getattr(app, name)
            assert callable(have), name
            assert list(inspect.signature(have).parameters) == list(inspect.signature(wanted).parameters)[1:], name


def test_contract_names_what_the_screens_ask():
    assert {
        "latest_snapshot",
        "training_live",
        "request_snapshot",
        "gate_text",
        "sample_save_dir",
        "pop_screen_or_exit",
    } <= set(MEMBERS)


def reaches(source: str) -> list[str]:
    """What a module asks of an app beyond Textual's App API and the contract: ``x.app.NAME``,
    ``getattr(x.app, ...)``, or ``host(x).NAME`` (also through a variable holding ``host(x)``)."""
    tree = ast.parse(source)
    hosts = {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and _is_host_call(node.value)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            inner = node.value
            if isinstance(inner, ast.Attribute) and inner.attr == "app" and node.attr not in FRAMEWORK:
                found.append(f"line {node.lineno}: .app.{node.attr}")
            held = _is_host_call(inner) or (isinstance(inner, ast.Name) and inner.id in hosts)
            if held and node.attr not in MEMBERS:
                found.append(f"line {node.lineno}: host().{node.attr}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr"):
            target = node.args[0] if node.args else None
            if isinstance(target, ast.Attribute) and target.attr == "app":
                found.append(f"line {node.lineno}: {node.func.id}(.app, ...)")
    return found


def _is_host_call(node) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "host"


def test_the_scan_finds_an_app_attribute_outside_the_contract():
    source = (
        "def f(self):\n    self.app.started\n    getattr(self.app, 'run_dir', None)\n"
        "    app = host(self)\n    app.bridge\n    host(self).latest_snapshot\n    self.app.notify('x')\n"
    )
    assert reaches(source) == ["line 2: .app.started", "line 3: getattr(.app, ...)", "line 5: host().bridge"]


@pytest.mark.parametrize(
    "path",
    sorted((UI / "screens").glob("*.py")) + sorted((UI / "widgets").glob("*.py")),
    ids=lambda path: f"{path.parent.name}/{path.name}",
)
def test_screens_and_widgets_ask_the_app_only_what_the_contract_says(path):
    assert reaches(path.read_text(encoding="utf-8")) == []


async def test_a_failed_screen_worker_is_shown_and_the_app_goes_on(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no memory for [bold]this[/]")

    monkeypatch.setattr("rnn_tui.core.gradflow.gradient_flow_for", broken)
    app = viewer()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.trace is not None)
        app.push_screen(GradFlowScreen())
        await wait_for(pilot, lambda: app._notifications, timeout=20)
        (note,) = list(app._notifications)
        assert note.message == "measuring the gradient flow failed: RuntimeError: no memory for [bold]this[/]"
        assert note.severity == "error" and not note.markup
        assert app.is_running and isinstance(app.screen, GradFlowScreen)


async def test_a_failed_app_worker_is_shown():
    def broken():
        raise ValueError("bad state")

    app = RnnTuiApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.run_worker(broken, thread=True, exit_on_error=False, description="the trainer")
        await wait_for(pilot, lambda: app._notifications, timeout=20)
        assert [n.message for n in app._notifications] == ["the trainer failed: ValueError: bad state"]
        assert app.is_running

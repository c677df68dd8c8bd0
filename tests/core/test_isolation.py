import os
import subprocess
import sys

from tests.conftest import REPO


def test_core_imports_no_ui():
    code = (
        "import sys, pkgutil, importlib, rnn_tui.core as core\n"
        "for m in pkgutil.iter_modules(core.__path__): importlib.import_module('rnn_tui.core.' + m.name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_help_does_not_import_torch():
    code = (
        "import sys, contextlib, io\n"
        "from rnn_tui import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try: cli.main(['--help'])\n"
        "    except SystemExit: pass\n"
        "assert 'torch' not in sys.modules and 'textual' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_the_app_module_loads_without_torch():
    """The first frame must not wait for torch: it is imported in the worker."""
    code = (
        "import sys\n"
        "import rnn_tui.ui.app, rnn_tui.ui.launch, rnn_tui.ui.bridge, rnn_tui.core.paths\n"
        "from rnn_tui.core.orchestrate import RunRequest\n"
        "RunRequest.from_options({'corpus': 'x.txt', 'max_steps': 3, 'compare': 'rnn,gru'})\n"
        "assert 'torch' not in sys.modules, 'torch imported before the first frame'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_the_frame_cap_is_set_before_textual_reads_it():
    """Textual reads TEXTUAL_FPS once, at import: the CLI must not import it before the app sets it."""
    code = (
        "import os, sys\n"
        "os.environ.pop('TEXTUAL_FPS', None); os.environ.pop('SSH_CONNECTION', None)\n"
        "import rnn_tui.cli, rnn_tui.cli.main, rnn_tui.ui.launch as launch\n"
        "assert 'textual' not in sys.modules\n"
        "launch._configure_environment()\n"
        "import textual.constants\n"
        "assert textual.constants.MAX_FPS == launch.LOCAL_FPS, textual.constants.MAX_FPS\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_the_frame_cap_is_lower_over_ssh_and_a_users_own_is_kept(monkeypatch):
    from rnn_tui.ui import launch

    monkeypatch.delenv("TEXTUAL_FPS", raising=False)
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    launch._configure_environment()
    assert int(os.environ["TEXTUAL_FPS"]) == launch.LOCAL_FPS > 60
    monkeypatch.delenv("TEXTUAL_FPS")
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.1 5555 10.0.0.2 22")
    launch._configure_environment()
    assert int(os.environ["TEXTUAL_FPS"]) == launch.SSH_FPS < launch.LOCAL_FPS
    monkeypatch.setenv("TEXTUAL_FPS", "12")
    launch._configure_environment()
    assert os.environ["TEXTUAL_FPS"] == "12"


def test_a_view_builds_its_model_without_loading_torchs_compiler():
    """A model rebuilt from weights on the meta device drew its embedding there: that loaded torch's
    compiler stack (~800 modules, 1 s), and the first gate view waited for it (2-15 s beside training)."""
    code = (
        "import sys, torch\n"
        "from rnn_tui.core.model import CharRNN, build_from_weights\n"
        "from rnn_tui.core.gradflow import gradient_flow_for\n"
        "config = {'cell': 'lstm', 'embed_size': 8, 'hidden_size': 16, 'layers': 2, 'seed': 3}\n"
        "weights = CharRNN(5, 'lstm', 8, 16, 2).state_dict()\n"
        "build_from_weights(config, 'abcde', weights)\n"
        "gradient_flow_for(config, 'abcde', weights, torch.tensor([0, 1, 2, 3, 4, 0, 1]))\n"
        "heavy = ('torch._dynamo', 'sympy', 'torch.fx.experimental.symbolic_shapes')\n"
        "loaded = [m for m in heavy if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)

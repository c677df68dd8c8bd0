"""What every key does and what the dashboard shows."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = """\
rnn-tui trains a character-level recurrent network on your text.

DASHBOARD
  space  pause / resume training        s  save a checkpoint now
  g      gate view: colour each character by a gate's value
  i      interactive sampling from the current weights
  f      gradient flow: how far back through time the gradient reaches
  c      the comparison chart and table (with --compare rnn,lstm,gru)
  t / T  live-sample temperature up / down
  r      show or hide the raw (unsmoothed) loss curve
  b      loss in bits/char or nats/char
  ctrl+p command palette                 ?  this help       q  save and quit

WHAT YOU SEE
  The chart: training loss per step (smoothed line, raw curve faint) and the
  validation loss (dots), in nats per character (ln 2 = 0.69 nats = 1 bit).
  A model that knows nothing scores ln(vocabulary size).
  Training uses truncated backpropagation through time: the text is cut into
  parallel streams, each step reads the next chunk of every stream, and the
  hidden state is carried from chunk to chunk (reset when the streams wrap).
  The sample is drawn by feeding each predicted character back in.

Runs are saved in the run folder shown at start; `rnn-tui --resume NAME`
continues one exactly.
"""


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 80; max-width: 100%; height: auto; max-height: 100%;
                                  border: round $primary; background: $surface; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text(HELP))

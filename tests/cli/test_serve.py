"""`rnn-tui serve` end to end: the real server in a subprocess, seen by a real browser (headless
Chromium driven over the DevTools protocol, reading the terminal xterm.js draws) and by the
websocket stream that page receives, decoded into a screen here (the path that needs no browser).
"""

import asyncio
import base64
import json
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.cli.test_cli import TINY
from tests.conftest import PYTHON, REPO, cli_env

aiohttp = pytest.importorskip(
    "aiohttp", reason="textual-serve (and with it aiohttp) is not installed: pip install -e '.[test]'"
)
pytest.importorskip("textual_serve", reason="textual-serve is not installed: pip install -e '.[test]'")

CHROMIUM = next(
    (
        shutil.which(name)
        for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
        if shutil.which(name)
    ),
    None,
)
NO_CHROMIUM = "no Chromium binary on PATH (Debian: apt-get install chromium; .ci/run installs it)"
VIEWERS = [pytest.param("chromium", marks=pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)), "stream"]
STEP = re.compile(r"│ step +([\d,]+) ")  # the dashboard's stats panel


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rnn_tui(home, *args, timeout=60):
    return subprocess.run(
        [PYTHON, "-m", "rnn_tui", *args], capture_output=True, text=True, env=cli_env(home), cwd=REPO, timeout=timeout
    )


def end(process, grace=10.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Served:
    """`rnn-tui serve` on a free port, until ``close``."""

    def __init__(self, home: Path, *args: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [PYTHON, "-m", "rnn_tui", "serve", "--port", str(self.port), *args],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=cli_env(home),
            cwd=REPO,
        )
        deadline = time.monotonic() + 30
        while True:
            assert self.process.poll() is None, f"serve ended: {self.output()}"
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                return
            except OSError:
                assert time.monotonic() < deadline, f"serve never listened: {self.output()}"
                time.sleep(0.1)

    def output(self) -> str:
        if self.log.closed:
            return self.said
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def close(self) -> None:
        end(self.process)
        self.said = self.output()
        self.log.close()


async def eventually(read, check, what: str, seconds: float = 60.0):
    """``read()`` again until ``check(value)`` holds; fail with the last value read."""
    deadline = time.monotonic() + seconds
    while True:
        value = await read()
        if check(value):
            return value
        assert time.monotonic() < deadline, f"never saw {what}; the screen:\n{value}"
        await asyncio.sleep(0.25)


# ---- the stream the page receives, made a screen ----------------------------------------------------
TOKEN = re.compile(
    r"\x1b\[([0-9;?<>=]*)[ -/]*([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]|([^\x1b]+)"
)


class ScreenFromStream:
    """Enough of a terminal for Textual's output: cursor moves, text, clears (styles are dropped)."""

    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self.cells = [[" "] * width for _ in range(height)]
        self.x = self.y = 0
        self._pending = ""

    def feed(self, text: str) -> None:
        from rich.cells import cell_len

        text, self._pending = self._pending + text, ""
        cut = text.rfind("\x1b")
        if cut != -1 and not TOKEN.match(text, cut):  # a sequence split between two messages
            text, self._pending = text[:cut], text[cut:]
        for match in TOKEN.finditer(text):
            params, final, plain = match.group(1), match.group(2), match.group(3)
            if plain is not None:
                for char in plain:
                    if char == "\n":
                        self.y, self.x = min(self.y + 1, self.height - 1), 0
                    elif char == "\r":
                        self.x = 0
                    elif self.x < self.width and 0 <= self.y < self.height:
                        self.cells[self.y][self.x] = char
                        self.x += max(cell_len(char), 1)
            elif final is None:  # other escapes: modes, titles
                continue
            elif final in "Hf":
                row, _, column = (params or "1;1").partition(";")
                self.y, self.x = int(row or 1) - 1, int(column or 1) - 1
            elif final == "J" and params == "2":
                self.cells = [[" "] * self.width for _ in range(self.height)]

    def text(self) -> str:
        return "\n".join("".join(row).rstrip() for row in self.cells)


class StreamViewer:
    """A websocket client on textual-serve's own endpoint: the bytes the page gets, no browser."""

    width, height = 110, 34

    async def open(self, url: str) -> None:
        self.session = aiohttp.ClientSession()
        self.socket = await self.session.ws_connect(f"{url}/ws?width={self.width}&height={self.height}")
        self.screen = ScreenFromStream(self.width, self.height)
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        decoder = __import__("codecs").getincrementaldecoder("utf-8")("replace")
        async for message in self.socket:
            if message.type == aiohttp.WSMsgType.BINARY:
                self.screen.feed(decoder.decode(message.data))

    async def text(self) -> str:
        if self.reader.done() and not self.reader.cancelled() and self.reader.exception():
            raise self.reader.exception()  # the decoding failed: say so, not "never saw"
        return self.screen.text()

    async def press(self, keys: str) -> None:
        await self.socket.send_str(json.dumps(["stdin", keys]))

    async def close_tab(self) -> None:
        await self.socket.close()
        await self.close()

    async def close(self) -> None:
        self.reader.cancel()
        await self.session.close()


# ---- a real browser -------------------------------------------------------------------------------
# xterm.js draws on a canvas, so the text is not in the DOM: catch the page's Terminal object as it is
# made (textual-serve keeps it as ``this.terminal``) and read its buffer, which is what is on screen.
CATCH_TERMINAL = """
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "terminal", {value, writable: true, configurable: true, enumerable: true});
    if (value && value.buffer && value.cols) window.__terminal = value;
  },
});
"""
READ_SCREEN = """(() => {
  const t = window.__terminal;
  if (!t) return "";
  const buffer = t.buffer.active, rows = [];
  for (let y = 0; y < t.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    rows.push(line ? line.translateToString(true) : "");
  }
  return rows.join("\\n");
})()"""
KEYS = {"\r": ("Enter", 13)}


class BrowserViewer:
    """Headless Chromium, driven over the DevTools protocol (aiohttp's websocket client)."""

    async def open(self, url: str, size=(1000, 700)) -> None:
        self.profile = tempfile.mkdtemp(prefix="rnn-tui-chromium-")
        self.process = subprocess.Popen(
            [
                CHROMIUM,
                "--headless=new",
                "--no-sandbox",
                "--remote-debugging-port=0",
                f"--user-data-dir={self.profile}",
                f"--window-size={size[0]},{size[1]}",
                "--no-first-run",
                "--mute-audio",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        active = Path(self.profile) / "DevToolsActivePort"  # the port and path Chromium picked
        deadline = time.monotonic() + 60
        while not (active.exists() and len(active.read_text().split()) == 2):
            assert self.process.poll() is None, "Chromium exited at start"
            assert time.monotonic() < deadline, "Chromium never opened its DevTools port"
            await asyncio.sleep(0.1)
        port, path = active.read_text().split()
        self.session = aiohttp.ClientSession()
        self.socket = await self.session.ws_connect(f"ws://127.0.0.1:{port}{path}", max_msg_size=0)
        self.ids = 0
        self.target = (await self.call("Target.createTarget", url="about:blank"))["targetId"]
        self.page = (await self.call("Target.attachToTarget", targetId=self.target, flatten=True))["sessionId"]
        await self.call("Page.enable", page=True)
        await self.call("Page.addScriptToEvaluateOnNewDocument", source=CATCH_TERMINAL, page=True)
        await self.call("Page.navigate", url=url, page=True)

    async def call(self, method: str, page: bool = False, **params):
        self.ids += 1
        message = {"id": self.ids, "method": method, "params": params}
        if page:
            message["sessionId"] = self.page
        await self.socket.send_str(json.dumps(message))
        while True:  # events in between are not needed
            reply = json.loads((await self.socket.receive(timeout=60)).data)
            if reply.get("id") == self.ids:
                assert "error" not in reply, f"{method}: {reply['error']}"
                return reply["result"]

    async def text(self) -> str:
        result = await self.call("Runtime.evaluate", expression=READ_SCREEN, returnByValue=True, page=True)
        return result["result"].get("value") or ""

    async def press(self, keys: str) -> None:
        """Real key events into the page; xterm.js turns them into the bytes it sends."""
        await self.call("Runtime.evaluate", expression="window.__terminal.focus()", page=True)
        for char in keys:
            key, code = KEYS.get(char, (char, ord(char.upper())))
            common = dict(key=key, code=key if len(key) > 1 else f"Key{key.upper()}", windowsVirtualKeyCode=code)
            await self.call("Input.dispatchKeyEvent", type="keyDown", text=char, page=True, **common)
            await self.call("Input.dispatchKeyEvent", type="keyUp", page=True, **common)

    async def screenshot(self, path: Path) -> None:
        shot = await self.call("Page.captureScreenshot", format="png", page=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    async def close_tab(self) -> None:
        await self.call("Target.closeTarget", targetId=self.target)

    async def close(self) -> None:
        await self.session.close()
        self.process.kill()
        self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def tab_apps(server_pid: int) -> list[int]:
    """The app processes textual-serve runs for the tabs (its children; Linux's /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == server_pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


async def left_alone(served: Served) -> None:
    """A closed tab's app leaves (nothing runs that no one sees) and the server serves on."""
    if not Path("/proc/self/stat").exists():
        return
    deadline = time.monotonic() + 20
    while tab_apps(served.process.pid):
        assert time.monotonic() < deadline, "the closed tab's app is still running"
        await asyncio.sleep(0.2)
    assert served.process.poll() is None


def viewer(kind: str):
    return BrowserViewer() if kind == "chromium" else StreamViewer()


def live_runs(home) -> str:
    listed = rnn_tui(home, "runs")
    assert listed.returncode == 0, listed.stderr
    return listed.stdout.partition("training now:")[2]


# ---- the tests --------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("kind", VIEWERS)
async def test_the_page_shows_the_home_screen(runs_home, kind):
    served = Served(runs_home)
    seen = viewer(kind)
    try:
        await seen.open(served.url)
        await eventually(seen.text, lambda text: "No runs yet" in text, "the home screen")
    finally:
        await seen.close()
        served.close()
    assert "serving the app on http://127.0.0.1" in served.output()


@pytest.fixture(scope="module")
def live_home():
    """A headless run that trains for a while (tiny model), in a home of its own."""
    home = Path(tempfile.mkdtemp(prefix="rnn-tui-serve-"))
    trainer = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "rnn_tui",
            "--headless",
            "--name",
            "live",
            "--max-time",
            "180",
            *TINY,
            "--eval-every",
            "100000",
            "--save-every",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=cli_env(home),
        cwd=REPO,
    )
    try:
        deadline = time.monotonic() + 60
        announced = home / "runs" / "live" / "live.json"  # written once its socket serves viewers
        while not (announced.exists() and '"socket"' in announced.read_text()):
            assert trainer.poll() is None and time.monotonic() < deadline, "the headless run never went live"
            time.sleep(0.2)
        yield home
    finally:
        end(trainer, 30)
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.parametrize("kind", VIEWERS)
async def test_a_tab_attaches_to_a_live_run_and_leaving_it_never_stops_it(live_home, kind):
    served = Served(live_home)
    seen = viewer(kind)
    try:
        await seen.open(served.url)
        await eventually(
            seen.text,
            lambda text: re.search(r"^\W+live\s+lstm 1x32", text, re.MULTILINE),
            "the live run on the home screen",
        )
        await seen.press("\r")  # Enter on the live run attaches to it
        first = await eventually(seen.text, STEP.search, "the dashboard's step count")
        step = int(STEP.search(first).group(1).replace(",", ""))
        await eventually(
            seen.text,
            lambda text: int(STEP.search(text).group(1).replace(",", "")) > step,
            f"the step count pass {step}",
        )
        assert len(tab_apps(served.process.pid)) in (0, 1)  # 0 where /proc is missing
        await seen.close_tab()  # a hang-up to the tab's app, which leaves the run to its trainer
        await left_alone(served)
        await asyncio.sleep(2)
        assert "live" in live_runs(live_home), "closing the tab stopped the training"
    finally:
        await seen.close()
        served.close()


@pytest.mark.slow
async def test_a_training_started_in_a_tab_goes_on_when_the_tab_closes(runs_home):
    served = Served(runs_home)
    seen = viewer("chromium" if CHROMIUM else "stream")
    try:
        await seen.open(served.url)
        await eventually(seen.text, lambda text: "No runs yet" in text, "the home screen")
        await seen.press("\r")  # Enter on an empty home trains the demo
        await eventually(seen.text, STEP.search, "the dashboard's step count", seconds=120)
        await seen.close_tab()
        await left_alone(served)
        deadline = time.monotonic() + 20
        while "shakespeare" not in live_runs(runs_home):
            assert time.monotonic() < deadline, "closing the tab stopped the training"
            await asyncio.sleep(0.5)
        name = re.search(r"^\s*(\S+)\s+PID", live_runs(runs_home), re.MULTILINE).group(1)
        await asyncio.sleep(3)
        assert name in live_runs(runs_home)  # still training, a while later
        assert rnn_tui(runs_home, "stop", name, timeout=120).returncode == 0
    finally:
        await seen.close()
        served.close()
        for line in live_runs(runs_home).splitlines():  # whatever still trains, stop
            if "PID" in line:
                rnn_tui(runs_home, "stop", line.split()[0], timeout=120)


def occupied_port():
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    return holder


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--port", "0"], "--port 0 is not a TCP port"),
        (["--port", "70000"], "--port 70000 is not a TCP port"),
        (["--port", "eighty"], "'eighty' is not a whole number"),
        (["--host", "no-such-host.invalid"], "--host 'no-such-host.invalid' is not an address of this machine"),
        (["--host", "192.0.2.1"], "--host 192.0.2.1 is not an address of this machine"),  # TEST-NET: never local
        ("in use", "is in use on 127.0.0.1; pick a free one with --port"),
        ("no textual-serve", "needs textual-serve, which is not installed; pip install 'rnn-tui[serve]'"),
    ],
)
def test_bad_addresses_and_a_missing_textual_serve_are_one_line(runs_home, args, says):
    holder = None
    command = [PYTHON, "-m", "rnn_tui", "serve"]
    if args == "in use":
        holder = occupied_port()
        args = ["--port", str(holder.getsockname()[1])]
    elif args == "no textual-serve":
        command = [
            PYTHON,
            "-c",
            "import sys; sys.modules['textual_serve'] = None; "
            "from rnn_tui.cli.main import main; sys.exit(main(['serve']))",
        ]
        args = ["--port", str(free_port())]
    try:
        result = subprocess.run(
            [*command, *args], capture_output=True, text=True, env=cli_env(runs_home), cwd=REPO, timeout=60
        )
    finally:
        if holder is not None:
            holder.close()
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnn-tui: error: ") and says in lines[0], result.stderr
    assert result.stdout == ""


def test_binding_beyond_this_machine_warns(runs_home):
    served = Served(runs_home, "--host", "0.0.0.0")
    try:
        deadline = time.monotonic() + 20
        while "warning" not in served.output():
            assert time.monotonic() < deadline, served.output()
            time.sleep(0.1)
    finally:
        served.close()
    assert "anyone who can reach port" in served.output()
    assert f"ssh -L {served.port}:localhost" not in served.output()  # the tunnel hint is for loopback binds


async def test_pages_of_other_sites_cannot_drive_the_app(runs_home):
    """A web page the user visits may open a websocket to localhost: the app refuses it."""
    served = Served(runs_home)
    assert f"ssh -L {served.port}:localhost:{served.port} HOST" in served.output()
    try:
        async with aiohttp.ClientSession() as session:
            for headers in ({"Origin": "http://evil.example"}, {"Host": f"evil.example:{served.port}"}):
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await session.ws_connect(f"{served.url}/ws", headers=headers)
                assert refused.value.status == 403
            same_site = await session.ws_connect(f"{served.url}/ws", headers={"Origin": served.url})
            await same_site.close()
    finally:
        served.close()


def test_the_tab_app_refuses_to_run_outside_textual_serve(runs_home):
    result = subprocess.run(
        [PYTHON, "-m", "rnn_tui.cli.serve"],
        capture_output=True,
        text=True,
        env={**cli_env(runs_home), "TEXTUAL_DRIVER": ""},
        cwd=REPO,
        timeout=60,
    )
    assert (
        result.returncode == 2
        and result.stderr.startswith("rnn-tui: error: ")
        and "run `rnn-tui serve`" in result.stderr
    )

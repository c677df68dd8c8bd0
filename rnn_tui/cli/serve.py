"""`rnn-tui serve`: the app in a browser, through Textualize's textual-serve.

textual-serve starts one app process per browser tab (per websocket) and pipes the terminal
stream to xterm.js in the page. Each of those processes is ``python -m rnn_tui.cli.serve``: the
home screen with ``--on-hangup continue``, in a session of its own (a Ctrl+C meant for the server
never reaches it), on a driver that turns the tab going away into a hang-up. So closing a tab, or
stopping the server, leaves every training running, as a dropped SSH connection does.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import shlex
import signal
import socket
import sys
from typing import Any

from rnn_tui.core.errors import UserError

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_driver_class: Any = None


def serve(args) -> int:
    """Check the address, then serve until Ctrl+C."""
    if not 1 <= args.port <= 65535:
        raise UserError(f"--port {args.port} is not a TCP port; pick one from 1024 to 65535 (default 8000)")
    try:
        from textual_serve.server import Server
    except ImportError:
        raise UserError(
            "serving to a browser needs textual-serve, which is not installed; "
            "pip install 'rnn-tui[serve]' (or pip install textual-serve)"
        ) from None
    addresses = _check_address(args.host, args.port)
    loopback = all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)
    command = [sys.executable, "-m", "rnn_tui.cli.serve"]
    if args.runs_dir:
        command += ["--runs-dir", os.path.abspath(args.runs_dir)]

    class _Server(Server):
        def initialize_logging(self) -> None:
            super().initialize_logging()
            logging.getLogger("aiohttp.access").setLevel(logging.WARNING)  # a line per request is noise here

        async def handle_index(self, request):
            # The page's websocket goes back where the page came from (a tunnel's own port, a host
            # name), not to the address the server binds.
            self.public_url = f"{request.scheme}://{request.host}"
            return await super().handle_index(request)

        async def handle_websocket(self, request):
            refusal = _refusal(request.headers.get("Host", ""), request.headers.get("Origin"), loopback)
            if refusal:
                from aiohttp import web

                raise web.HTTPForbidden(text=refusal)
            return await super().handle_websocket(request)

        async def on_startup(self, app) -> None:
            _say_where(args.host, args.port, loopback)

    server = _Server("exec " + shlex.join(command), host=args.host, port=args.port, title="rnn-tui")
    try:
        server.serve()
    except OSError as exc:  # taken between the check and the bind
        raise UserError(_bind_problem(args.host, args.port, exc)) from None
    print(
        "rnn-tui: server stopped; trainings started from the browser go on (rnn-tui runs lists them)", file=sys.stderr
    )
    return 0


def _check_address(host: str, port: int) -> list[str]:
    """The addresses ``host`` binds, each tried now: a bad host or a taken port is one line, not a traceback."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
        raise UserError(
            f"--host {host!r} is not an address of this machine ({reason}); "
            "use 127.0.0.1 (this machine only) or 0.0.0.0 (every network)"
        ) from None
    addresses = []
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
            try:
                probe.bind(address)
            except OSError as exc:
                raise UserError(_bind_problem(host, port, exc)) from None
        addresses.append(str(address[0]))
    return addresses


def _bind_problem(host: str, port: int, exc: OSError) -> str:
    import errno

    if exc.errno == errno.EADDRINUSE:
        return (
            f"port {port} is in use on {host}; pick a free one with --port, e.g. --port "
            f"{port + 1 if port < 65535 else 8000}"
        )
    if exc.errno == errno.EACCES:
        return f"port {port} needs privileges on this machine; pick one from 1024 up, e.g. --port 8000"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"--host {host} is not an address of this machine; use 127.0.0.1 (this machine only) or 0.0.0.0"
    return f"cannot serve on {host}:{port} ({exc.strerror or exc}); try --host 127.0.0.1 --port 8000"


def _refusal(host_header: str, origin: str | None, loopback: bool) -> str | None:
    """Why a websocket is refused: a page from another site (or, on a loopback bind, reached by
    another name: DNS rebinding) must not drive the app a user has open."""
    from urllib.parse import urlsplit

    name = urlsplit(f"//{host_header}").hostname or ""
    if loopback and name not in LOOPBACK_NAMES:
        return "served to this machine only: open it as localhost"
    if origin is not None and urlsplit(origin).netloc != host_header:
        return "another site may not drive this app"
    return None


def _say_where(host: str, port: int, loopback: bool) -> None:
    shown = f"[{host}]" if ":" in host else host
    lines = [
        f"rnn-tui: serving the app on http://{shown}:{port} (each browser tab is a viewer of its own; "
        "closing one never stops a training)"
    ]
    if loopback:
        lines.append(f"  from another machine: ssh -L {port}:localhost:{port} HOST, then open http://localhost:{port}")
    else:
        wildcard = ipaddress.ip_address(host).is_unspecified if _is_ip(host) else False
        if wildcard:
            lines[0] = lines[0].replace(f"http://{shown}", f"http://{socket.gethostname()}")
    lines.append("  stop serving: Ctrl+C (trainings go on; rnn-tui runs lists them)")
    print("\n".join(lines), flush=True)
    if not loopback:
        print(
            f"rnn-tui: warning: {host} is reachable from other machines: anyone who can reach port {port} can "
            "start, stop and delete trainings; bind 127.0.0.1 and use ssh -L instead",
            file=sys.stderr,
            flush=True,
        )


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# ---- the app textual-serve starts for each browser tab -----------------------------------------------
def __getattr__(name: str) -> Any:
    """``ServedDriver``, built on first use: Textual loads only in the served app, not in ``serve``."""
    global _driver_class
    if name != "ServedDriver":
        raise AttributeError(name)
    if _driver_class is None:
        from textual.drivers.web_driver import WebDriver

        class ServedDriver(WebDriver):
            """The web driver, with the browser going away made a hang-up (SIGHUP, which the app
            answers as ``--on-hangup`` says) instead of an exit that stops the training."""

            def on_meta(self, packet_type: str, payload: dict[str, object]) -> None:
                if packet_type == "quit":  # the tab closed, or the server stops
                    os.kill(os.getpid(), signal.SIGHUP)
                    return
                super().on_meta(packet_type, payload)

            def run_input_thread(self) -> None:
                super().run_input_thread()
                if not self.exit_event.is_set():  # stdin ended: the server is gone
                    os.kill(os.getpid(), signal.SIGHUP)

        _driver_class = ServedDriver
    return _driver_class


def served_app(argv: list[str]) -> int:
    if "web_driver" not in os.environ.get("TEXTUAL_DRIVER", ""):
        print(
            "rnn-tui: error: this is the app `rnn-tui serve` starts for each browser tab; run `rnn-tui serve`",
            file=sys.stderr,
        )
        return 2
    os.environ["TEXTUAL_DRIVER"] = "rnn_tui.cli.serve:ServedDriver"
    try:
        os.setsid()  # Ctrl+C in the server's terminal reaches the server only; it then closes each tab
    except OSError:
        pass
    runs_dir = argv[1] if len(argv) == 2 and argv[0] == "--runs-dir" else None
    from rnn_tui.ui.launch import run_home_app

    try:
        return run_home_app(runs_dir, on_hangup="continue")
    except UserError as exc:
        print(f"rnn-tui: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    raise SystemExit(served_app(sys.argv[1:]))

"""Running the web console: uvicorn on a thread of its own, and the console's token."""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from dicomnet.tls import TlsSettings
from print_scp.web.app import ConsoleSettings, console_app
from print_scp.web.film_index import FilmIndex

__all__ = ["TOKEN_FILE", "WebConsole", "WebAddress", "console_token", "is_loopback"]

LOG = logging.getLogger("print_scp.web")

TOKEN_FILE = ".web-token"
START_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class WebAddress:
    """Where the console listens: ``HOST:PORT`` (HOST 127.0.0.1 when left out)."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> WebAddress:
        """``HOST:PORT``, ``:PORT`` or ``PORT``; ValueError saying what is wrong."""
        host, _, port = text.rpartition(":")
        host = host.strip("[]") or "127.0.0.1"
        if not port.isdigit() or not 0 <= int(port) < 65536:
            raise ValueError(f"--web {text!r}: give HOST:PORT with a TCP port, e.g. "
                             "127.0.0.1:8080")
        return cls(host, int(port))


def is_loopback(host: str) -> bool:
    """True for localhost and the loopback addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def console_token(output_dir: Path, configured: str = "") -> tuple[str, bool]:
    """The console's token: ``configured``, else the one stored in the output directory,
    else a new one stored there with mode 0600; and whether it is new."""
    if configured:
        return configured, False
    path = Path(output_dir) / TOKEN_FILE
    try:
        return path.read_text().strip(), False
    except FileNotFoundError:
        pass
    token = secrets.token_urlsafe(24)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(token + "\n")
    return token, True


class WebConsole:
    """The console over ``settings.output_dir``, served by uvicorn on a thread."""

    def __init__(self, settings: ConsoleSettings, address: WebAddress,
                 tls: TlsSettings | None = None):
        self.settings = settings
        self.index = FilmIndex(settings.output_dir)
        config = uvicorn.Config(
            console_app(settings, self.index), host=address.host, port=address.port,
            log_level="warning", access_log=False, lifespan="on",
            ssl_certfile=str(tls.certificate) if tls else None,
            ssl_keyfile=str(tls.private_key) if tls else None)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="web-console",
                                        daemon=True)
        self.scheme = "https" if tls else "http"
        self.address = address

    def start(self) -> WebAddress:
        """Start serving; the bound address (the port chosen, for port 0)."""
        self.index.sync()
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise OSError(f"the web console cannot listen on {self.address.host}:"
                              f"{self.address.port}")
            time.sleep(0.02)
        sockets = [s for server in self._server.servers for s in server.sockets]
        self.address = WebAddress(self.address.host, int(sockets[0].getsockname()[1]))
        LOG.info("web console on %s://%s:%d/", self.scheme, self.address.host, self.address.port)
        return self.address

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self.index.close()

"""Control channel of a running printer: ``print-scp set-status`` and ``status``.

The server listens on a Unix domain socket in its output directory
(``<output>/.control.sock``), so only local users with access to that
directory can change the printer's state; nothing is exposed on the network.
One request per connection: a JSON object on one line, answered the same way.
"""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dicomnet.terms import PrinterStatus

if TYPE_CHECKING:
    from print_scp.server import PrintServer

LOG = logging.getLogger("print_scp.control")

SOCKET_NAME = ".control.sock"
MAX_REQUEST = 4096  # bytes


def socket_path(output_dir: Path) -> Path:
    return Path(output_dir) / SOCKET_NAME


class ControlServer:
    """Serves control requests for ``server`` until stopped."""

    def __init__(self, server: "PrintServer"):
        self._print_server = server
        self.path = socket_path(server.output_dir)
        if self.path.exists():
            self.path.unlink()
        control = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                line = self.rfile.readline(MAX_REQUEST)
                try:
                    reply = control.execute(json.loads(line))
                except (ValueError, KeyError, TypeError) as exc:
                    reply = {"ok": False, "error": str(exc)}
                self.wfile.write(json.dumps(reply).encode() + b"\n")

        self._socket_server = socketserver.ThreadingUnixStreamServer(str(self.path), Handler)
        self._socket_server.daemon_threads = True
        self._thread = threading.Thread(target=self._socket_server.serve_forever,
                                        name="control", daemon=True)

    def start(self) -> None:
        self.path.chmod(0o600)
        self._thread.start()

    def stop(self) -> None:
        self._socket_server.shutdown()
        self._socket_server.server_close()
        self.path.unlink(missing_ok=True)

    def execute(self, request: dict[str, Any]) -> dict[str, Any]:
        command = request["command"]
        printer = self._print_server.printer
        if command == "set-status":
            condition = printer.set_status(PrinterStatus(request["status"]), request.get("info"))
        elif command == "status":
            condition = printer.condition
        else:
            raise ValueError(f"unknown command {command!r}")
        return {"ok": True, "status": condition.status.value, "info": condition.info,
                "associations": self._print_server.hub.associations,
                "films_rendered": self._print_server.worker.films_rendered,
                "films_waiting": self._print_server.jobs.pending_films()}


def send(output_dir: Path, request: dict[str, Any], timeout_s: float = 10.0) -> dict[str, Any]:
    """Send one request to the printer serving ``output_dir``; raises OSError if none runs."""
    path = socket_path(output_dir)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        sock.connect(str(path))
        sock.sendall(json.dumps(request).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return json.loads(data)

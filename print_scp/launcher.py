"""Start ``print-scp serve`` in a child process and wait until it listens.

For scripts, examples and benchmarks that need a real printer process.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

START_TIMEOUT_S = 20.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def start_print_scp(output: Path, port: int, *extra: str, log: IO | int | None = None,
                    timeout_s: float = START_TIMEOUT_S) -> subprocess.Popen:
    """Run ``print-scp serve --port PORT --output OUTPUT EXTRA...``; return once it listens.

    Raises RuntimeError (after killing the child) if it exits or does not
    listen on 127.0.0.1:PORT within ``timeout_s`` seconds.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "print_scp.cli", "serve", "--port", str(port),
         "--output", str(output), *extra],
        stdout=subprocess.DEVNULL if log is None else log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"print-scp exited with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                process.wait(timeout=10)
                raise RuntimeError(f"print-scp did not listen on port {port} within "
                                   f"{timeout_s:.0f} s") from None
            time.sleep(0.05)

"""What `print-scu` shows on a terminal (a real pseudo-terminal) and in a pipe.

On a terminal, tables are drawn with box lines and a multi-film `print`
shows a progress bar counting films; piped, the same commands print plain
columns and one line per printed film, with no escape sequences.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from scp_harness import running_printer
from test_scu_cli import CLI_TIMEOUT_S, DPI, print_scu, uniform_files, write_printers

ESCAPE = "\x1b["
TABLE_RULE = "─"  # rich's SIMPLE_HEAD box: a rule under the header
BAR = "━"  # rich's progress bar


def _on_terminal(*args: str) -> tuple[int, str]:
    """Run print-scu with stdout and stderr on a new pseudo-terminal: (exit status, output)."""
    controller, terminal = pty.openpty()
    script = Path(sys.executable).with_name("print-scu")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "print_scu.cli"]
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen([*command, *args], stdin=subprocess.DEVNULL, stdout=terminal,
                               stderr=terminal, env=env, close_fds=True)
    os.close(terminal)
    output = bytearray()
    deadline = time.monotonic() + CLI_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # the terminal closed: the process has ended
                    break
                if not chunk:
                    break
                output += chunk
            elif process.poll() is not None:
                break
        status = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(controller)
    return status, output.decode("utf-8", errors="replace")


def _config(tmp_path: Path, port: int) -> Path:
    return write_printers(tmp_path / "printers.toml", {
        "laser": {"host": "127.0.0.1", "port": port, "called_ae": "FILMBOX", "dpi": 300},
        "paper": {"host": "127.0.0.1", "port": port + 1, "called_ae": "PAPER", "color": True},
    })


def test_printers_table_is_drawn_on_a_terminal_and_plain_in_a_pipe(tmp_path: Path) -> None:
    config = _config(tmp_path, 10400)

    spool = ["--spool", str(tmp_path / "spool")]
    piped = print_scu("printers", "--config", str(config), *spool)
    status, drawn = _on_terminal("printers", "--config", str(config), *spool)

    assert piped.returncode == 0 and status == 0
    lines = piped.stdout.splitlines()
    assert lines[0].split() == ["NAME", "ADDRESS", "CAPABILITIES", "LAST", "STATUS", "WHEN"]
    assert lines[1].startswith("laser") and "FILMBOX@127.0.0.1:10400" in lines[1]
    assert lines[1].endswith("not polled yet")  # no worker has polled: no spool
    assert lines[2].startswith("paper") and "PAPER@127.0.0.1:10401" in lines[2]
    assert ESCAPE not in piped.stdout and TABLE_RULE not in piped.stdout
    assert TABLE_RULE in drawn
    assert "FILMBOX@127.0.0.1:10400" in drawn and "PAPER@127.0.0.1:10401" in drawn


def test_print_shows_a_progress_bar_on_a_terminal_and_lines_in_a_pipe(tmp_path: Path) -> None:
    files = [str(path) for path in uniform_files(tmp_path / "in", [20, 90, 160])]
    with running_printer(tmp_path / "out", standard_dpi=DPI) as server:
        target = ["--host", "127.0.0.1", "--port", str(server.port), "--called-ae",
                  server.profile.ae_title]
        piped = print_scu("print", "--spool", str(tmp_path / "spool-a"), *target, *files)
        status, drawn = _on_terminal("print", "--spool", str(tmp_path / "spool-b"), *target,
                                     *files)

    assert piped.returncode == 0 and status == 0
    assert [f"film {n}/3 printed" in piped.stderr for n in (1, 2, 3)] == [True] * 3
    assert ESCAPE not in piped.stderr and BAR not in piped.stderr
    assert BAR in drawn and "3/3" in drawn and "films" in drawn
    assert "film 1/3 printed" not in drawn  # the bar replaces the per-film lines
    assert "done, 3/3 film(s) printed" in drawn

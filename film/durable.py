"""Durable writes: file contents and directory entries that survive a crash.

Used wherever a crash must leave either the old state or the new one: film
outputs (film.writers), the printer's spool (print_scp.output.spool) and the
client's queue (print_scu.queue).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_durably(path: Path, content: bytes | Callable[[BinaryIO], object]) -> None:
    """Create ``path`` with ``content`` (bytes, or a function that writes them), then fsync it."""
    with Path(path).open("wb") as handle:
        if isinstance(content, bytes):
            handle.write(content)
        else:
            content(handle)
        handle.flush()
        os.fsync(handle.fileno())


def fsync_directory(directory: Path) -> None:
    """Make entries created, renamed or removed in ``directory`` durable (POSIX only)."""
    if os.name != "posix":
        return
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)

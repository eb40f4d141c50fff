"""Durable writes: file contents and directory entries that survive a crash.

Used wherever a crash must leave either the old state or the new one: film
outputs (:mod:`film.writers`), and the spool and queue of the printer and
the client.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_durably(path: Path, content: bytes | Callable[[BinaryIO], object], *,
                  exclusive: bool = False) -> None:
    """Create ``path`` with ``content`` (bytes, or a function that writes them), then fsync it.

    ``exclusive``: FileExistsError if ``path`` exists (it is not replaced).
    """
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    with os.fdopen(os.open(path, flags, 0o666), "wb") as handle:
        if isinstance(content, bytes):
            handle.write(content)
        else:
            content(handle)
        handle.flush()
        os.fsync(handle.fileno())


def fsync_file(path: Path) -> None:
    """Make the contents of an existing file (or a directory's entries) durable."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_directory(directory: Path) -> None:
    """Make entries created, renamed or removed in ``directory`` durable (POSIX only)."""
    if os.name == "posix":
        fsync_file(directory)

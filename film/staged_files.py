"""Safe file stems, and files written as the film writer writes them: staged, fsync'ed,
renamed.

Apart from :mod:`film.writers` so that a process that only names, writes or
cleans up output files (the printer itself) need not import the renderer's
encoders and PDF library.
"""

from __future__ import annotations

import os
import re
import secrets
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from film.durable import fsync_directory, write_durably

__all__ = ["MAX_STEM_LENGTH", "remove_staging_leftovers", "safe_stem", "staging",
           "validate_stem", "write_atomically"]

MAX_STEM_LENGTH = 128

_STEM = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
_UNSAFE_RUN = re.compile(r"[^A-Za-z0-9._-]+")
_STAGED = re.compile(r"\.[A-Za-z0-9._-]+\.[0-9a-f]{12}\.tmp")  # see staging


def validate_stem(name: str) -> str:
    """Return ``name`` if it is a safe file stem, else raise ValueError.

    Safe: 1 to 128 characters of ``[A-Za-z0-9._-]``, not starting with a dot
    (no hidden files, no ``.``/``..``, no path separators).
    """
    if not isinstance(name, str):
        raise TypeError(f"file stem must be a str, got {type(name).__name__}")
    if len(name) > MAX_STEM_LENGTH:
        raise ValueError(
            f"file stem {name[:40]!r}... is {len(name)} characters long, "
            f"at most {MAX_STEM_LENGTH} are allowed"
        )
    if not _STEM.fullmatch(name):
        raise ValueError(
            f"file stem {name!r} is not safe: it must be 1 to {MAX_STEM_LENGTH} "
            "characters of A-Z a-z 0-9 . _ - and must not start with a dot"
        )
    return name


def safe_stem(text: str, fallback: str) -> str:
    """Turn untrusted ``text`` into a safe file stem (see ``validate_stem``).

    Accents are folded to ASCII, every run of other characters becomes one
    ``_``, leading and trailing ``._-`` are stripped and the result is cut to
    128 characters. If nothing is left, ``fallback`` (which must itself be a
    safe stem) is returned.
    """
    validate_stem(fallback)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    stem = _UNSAFE_RUN.sub("_", ascii_text).strip("._-")
    stem = stem[:MAX_STEM_LENGTH].rstrip("._-")
    return stem if stem else fallback


def write_atomically(out_dir: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to ``out_dir/name`` as the film files are: staged, fsync'ed, renamed.

    ``name`` must be a safe file name (see ``validate_stem``).
    """
    validate_stem(name)
    path = Path(out_dir) / name
    with staging(Path(out_dir)) as stage:
        stage(path, data)
    return path


def remove_staging_leftovers(out_dir: Path) -> list[Path]:
    """Delete the temporary files a writer killed while staging left in ``out_dir``.

    Only names of the writer's own pattern (``.<file name>.<12 hex>.tmp``) are
    touched; call it when no writer is running there. Returns what was removed.
    """
    removed = []
    for path in Path(out_dir).iterdir():
        if _STAGED.fullmatch(path.name) and path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


@contextmanager
def staging(directory: Path) -> Iterator[Callable[[Path, bytes], None]]:
    """Yield ``stage(final_path, data)``; rename all staged files on success.

    Each file goes to a hidden temporary in ``directory`` (same file system,
    so the rename is atomic), is flushed and fsync'ed. On success the files
    are renamed in staging order and the directory entry is fsync'ed; on an
    exception while staging every temporary is removed and no final name is
    touched (if a rename itself fails, the files renamed before it stay).
    """
    staged: list[tuple[Path, Path]] = []

    def stage(final: Path, data: bytes) -> None:
        temporary = directory / f".{final.name}.{secrets.token_hex(6)}.tmp"
        staged.append((temporary, final))
        write_durably(temporary, data, exclusive=True)

    try:
        yield stage
        for temporary, final in staged:
            os.replace(temporary, final)
    finally:
        for temporary, _ in staged:  # only those not renamed still exist
            temporary.unlink(missing_ok=True)
    fsync_directory(directory)

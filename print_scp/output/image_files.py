"""Images written to the spool as they arrive, so that a print's N-ACTION only links them.

The pixels of each Image Box N-SET are written to ``<spool>/.images/`` by a
background thread (:meth:`ImageFiles.write`), in the spool's array format,
while the association goes on (a modality spends milliseconds between its
N-SETs reading its next image). At N-ACTION the spool links each written
file into the job (:meth:`ImageFiles.written`, ``os.link``) instead of writing
the pixels then, before its response: 16 MiB of pixels took the N-ACTION
5-23 ms, the page cache's cost varying with the writeback going on. A file
not written yet is waited for; one that could not be written (a full disk)
is written by the N-ACTION itself, which then answers as it always did.

A file is removed when its image is replaced, its box deleted or its
association ends; a job that linked it keeps its own link. The files are not
fsynced here: a job's files are, once it is saved (``Spool``'s background
flush). What a previous run left in the directory is removed at start.
"""

from __future__ import annotations

import itertools
import logging
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from queue import SimpleQueue

import numpy as np

from print_scp.output.spool import IMAGES_DIR, save_array

LOG = logging.getLogger("print_scp.spool")

#: Longest wait (s) at N-ACTION for an image still being written; then it is written there.
WRITE_WAIT_S = 10.0


@dataclass(eq=False)
class _ImageFile:
    pixels: np.ndarray  # held while the entry lives, so that its id() names it alone
    path: Path
    done: threading.Event = field(default_factory=threading.Event)
    written: bool = False
    forgotten: bool = False


class ImageFiles:
    """The image files of ``<spool_root>/.images``, by the pixel array they hold."""

    def __init__(self, spool_root: Path) -> None:
        self.directory = Path(spool_root) / IMAGES_DIR
        shutil.rmtree(self.directory, ignore_errors=True)  # a previous run's
        self.directory.mkdir(parents=True, exist_ok=True)
        self._files: dict[int, _ImageFile] = {}
        self._lock = threading.Lock()
        self._names = itertools.count(1)
        self._queue: SimpleQueue[_ImageFile | None] = SimpleQueue()
        self._writer: threading.Thread | None = None  # started by the first write

    def write(self, pixels: np.ndarray) -> None:
        """Write ``pixels`` to a file of their own, in the background."""
        with self._lock:
            image = _ImageFile(pixels, self.directory / f"{next(self._names)}.npy")
            self._files[id(pixels)] = image
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_until_stopped,
                                                name="image-files", daemon=True)
                self._writer.start()
        self._queue.put(image)

    def written(self, pixels: np.ndarray, timeout_s: float = WRITE_WAIT_S) -> Path | None:
        """The file holding ``pixels`` once written; None if there is none (never asked
        for, forgotten, not written within ``timeout_s`` or not writable)."""
        with self._lock:
            image = self._files.get(id(pixels))
        if image is None or not image.done.wait(timeout_s):
            return None
        return image.path if image.written and not image.forgotten else None

    def forget(self, pixels: np.ndarray) -> None:
        """Remove the file of ``pixels`` (at once, or once written)."""
        with self._lock:
            image = self._files.pop(id(pixels), None)
        if image is None:
            return
        image.forgotten = True
        if image.done.is_set():
            image.path.unlink(missing_ok=True)

    def stop(self) -> None:
        """End the writer thread once the files asked for are written."""
        with self._lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            self._queue.put(None)
            writer.join(timeout=WRITE_WAIT_S)

    def _write_until_stopped(self) -> None:
        while (image := self._queue.get()) is not None:
            if not image.forgotten:
                try:
                    save_array(image.path, image.pixels)
                    image.written = True
                except OSError as exc:
                    LOG.warning("image not written ahead to the spool (%s): the N-ACTION "
                                "that prints it writes it", exc)
                    image.path.unlink(missing_ok=True)
            image.done.set()
            if image.forgotten:  # forgotten while being written
                image.path.unlink(missing_ok=True)

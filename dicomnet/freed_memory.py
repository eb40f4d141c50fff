"""glibc malloc settings for print-scu, print-scp serve and the render processes: reuse
freed memory instead of paging fresh memory in for every image and every film.

The client encodes, fragments and sends each image message (MiB each); the
printer receives and joins each one; a render process allocates and frees a
film's canvases (tens of MiB). With glibc's defaults, blocks above the mmap
threshold are mapped and unmapped each time, and free memory at the top of
the heap goes back to the kernel, so each new buffer is paged in again. On
the 2-core development VM a page fault costs about 1.3 µs (touching 4 MiB of
fresh memory: 1.2-1.6 ms). With blocks of up to :data:`MMAP_THRESHOLD_BYTES`
taken from the heap, up to :data:`TRIM_THRESHOLD_BYTES` of free memory kept,
and every thread allocating from one arena (else memory freed by one thread
would not be reused by another):

* print-scu sending a film of four 2048² images to dcmprscp: 73-78 -> 33-39 ms
  of CPU, 98-100 -> 46-55 ms from association request to release (12 runs
  each, medians);
* print-scp serve answers each 4 MiB Image Box N-SET of that film as soon as
  dcmprscp does (6.8-7.5 ms against 6.6-6.7, from 8.4-12.1 with the one
  arena alone), 47 ms from association request to release against 68 (7
  runs, medians);
* a render process spends 10-15 ms less CPU on an 8×10 in film at 150 dpi
  (render and write, 25 films per run: 64-74 -> 53-59 ms), and peaks 9 MiB
  lower with one arena; it keeps the memory of its largest film until it
  ends.

The printer keeps what its associations free for the next ones, so its
resident memory stays near its peak, which its memory budget bounds: a
received data set is joined once at its exact size
(:mod:`dicomnet.assembled_data_sets`), not grown past the mmap threshold
leaving its smaller buffers behind in the heap, where the budget would not
count them. 50 associations each sending a 64 MiB image under a 512 MiB
budget (``tests/test_scp_memory_budget.py``) peaked at 350-360 MiB (378 with
the one arena alone); 40 sending 16 MiB images, which come from the heap,
under a 256 MiB budget (the same test) at 127-134 MiB, and 31 MiB images at
165-174 MiB, a baseline of 62 MiB included.
"""

from __future__ import annotations

import ctypes

#: mallopt parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8

#: Blocks up to this size come from the heap (glibc's largest mmap threshold on 64-bit).
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024
#: Free memory at the top of the heap is given back only above this.
TRIM_THRESHOLD_BYTES = 1024 * 1024 * 1024


def keep_freed_memory() -> bool:
    """Apply the settings above to this process, every thread allocating from one arena
    (call before threads start); False (nothing changed, or only the arena) where the C
    library has no ``mallopt`` (not glibc) or refuses them."""
    return (one_malloc_arena()
            and _mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
            and _mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))


def one_malloc_arena() -> bool:
    """Every thread of this process allocates from one arena (call before threads start);
    False (nothing changed) where the C library has no ``mallopt`` or refuses it."""
    return _mallopt(_M_ARENA_MAX, 1)


def _mallopt(parameter: int, value: int) -> bool:
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the process runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(parameter, value) == 1)

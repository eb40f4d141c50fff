"""glibc malloc settings for a render process: reuse freed canvas memory instead of
paging fresh memory in for every film.

A film's canvases (tens of MiB) are allocated and freed once per film. With
glibc's defaults, blocks above the mmap threshold are mapped and unmapped
each time, and free memory at the top of the heap goes back to the kernel, so
every film pays a page fault per 4 KiB of its canvases again. On the 2-core
development VM a page fault costs about 1.3 µs (touching 4 MiB of fresh
memory: 1.2-1.6 ms). With blocks of up to :data:`MMAP_THRESHOLD_BYTES` taken
from the heap and up to :data:`TRIM_THRESHOLD_BYTES` of free memory kept, an
8×10 in film at 150 dpi costs about 20 ms less CPU (``benchmarks/cpu_per_film.py``:
render 15.6 -> 6-7 ms, the rest of the render process 10.5 -> 6 ms). In
exchange a render process keeps the memory of its largest film until it ends.

Only render processes are set so: the DIMSE threads of print-scp each have a
malloc arena of their own, and memory kept free in one arena would not be
reused by another, so the printer's memory budget would no longer bound its
resident memory.
"""

from __future__ import annotations

import ctypes

#: mallopt parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

#: Blocks up to this size come from the heap (glibc's largest mmap threshold on 64-bit).
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024
#: Free memory at the top of the heap is given back only above this.
TRIM_THRESHOLD_BYTES = 1024 * 1024 * 1024


def keep_freed_memory() -> bool:
    """Apply the settings above to this process; False (nothing changed) where the C
    library has no ``mallopt`` (not glibc) or refuses them."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the process runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return (mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
            and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1)

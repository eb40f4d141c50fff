"""Render processes keep freed canvas memory for the next film instead of paging it in afresh.

Each case runs in a Python process of its own (malloc settings are
process-wide): it allocates and frees a 24 MiB canvas, then allocates another,
and reports its resident memory (VmRSS) at each step. With glibc's defaults
the freed canvas goes back to the system and the next one is paged in afresh
(resident memory grows by its size again); with
:func:`~dicomnet.freed_memory.keep_freed_memory` the freed canvas stays
resident and the next one, allocated by another thread (as print-scp's DIMSE
threads do), reuses its pages: the threads share one arena. With
:func:`~dicomnet.freed_memory.one_malloc_arena` (which ``keep_freed_memory``
applies first), a thread's memory comes from the process heap, not from an
arena of its own.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

CANVAS_MIB = 24

STEPS = f'''
import json, sys, threading
import numpy as np
from dicomnet.freed_memory import keep_freed_memory

def rss_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

mode = sys.argv[1]
kept = None if mode == "default" else keep_freed_memory()
steps = {{}}

def first():  # on a thread of its own, as a DIMSE thread
    canvas = np.ones({CANVAS_MIB} << 20, dtype=np.uint8)
    steps["with_canvas"] = rss_mib()
    del canvas
    steps["freed"] = rss_mib()

thread = threading.Thread(target=first)
thread.start()
thread.join()
canvas = np.ones({CANVAS_MIB} << 20, dtype=np.uint8)  # on another thread
print(json.dumps({{"kept": kept, "with_next_canvas": rss_mib(), **steps}}))
'''

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="malloc settings are glibc's (Linux)")


def canvas_steps(mode: str) -> dict:
    run = subprocess.run([sys.executable, "-c", STEPS, mode], capture_output=True, text=True,
                         timeout=60, check=True)
    return json.loads(run.stdout)


def test_by_default_a_freed_canvas_goes_back_and_the_next_one_is_paged_in_afresh() -> None:
    steps = canvas_steps("default")
    assert steps["with_canvas"] - steps["freed"] > CANVAS_MIB * 0.9
    assert steps["with_next_canvas"] - steps["freed"] > CANVAS_MIB * 0.9


def test_with_freed_memory_kept_another_thread_s_next_canvas_reuses_the_pages() -> None:
    steps = canvas_steps("keep")
    assert steps["kept"] is True
    assert steps["with_canvas"] - steps["freed"] < CANVAS_MIB * 0.1
    assert steps["with_next_canvas"] - steps["freed"] < CANVAS_MIB * 0.1


ARENA = '''
import json, sys, threading
import numpy as np
from dicomnet.freed_memory import one_malloc_arena

one_arena = one_malloc_arena() if sys.argv[1] == "one" else None
heap = next(line.split()[0] for line in open("/proc/self/maps") if line.rstrip().endswith("[heap]"))
start, end = (int(bound, 16) for bound in heap.split("-"))
found = {}

def allocate():  # on a thread of its own, as an association's threads
    block = np.ones(64 << 10, dtype=np.uint8)  # below glibc's mmap threshold: from an arena
    found["in_heap"] = start <= block.ctypes.data < end

thread = threading.Thread(target=allocate)
thread.start()
thread.join()
print(json.dumps({"one_arena": one_arena, **found}))
'''


@pytest.mark.parametrize("mode, in_heap", [("default", False), ("one", True)])
def test_with_one_arena_a_thread_allocates_from_the_process_heap(mode: str,
                                                                 in_heap: bool) -> None:
    # By default each thread gets an arena of its own (mapped apart from the heap), where
    # what it frees is reused by no other thread.
    run = subprocess.run([sys.executable, "-c", ARENA, mode], capture_output=True, text=True,
                         timeout=60, check=True)
    found = json.loads(run.stdout)
    assert found["in_heap"] is in_heap
    assert found["one_arena"] is (True if mode == "one" else None)

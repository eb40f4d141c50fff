"""What the benchmarks share: print-scp in its own process, and runs that alternate.

Every comparison with a peer alternates A and B within one run
(:func:`alternate`), so that load on the machine falls on both.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from print_scp.launcher import free_port, start_print_scp

PDF_WAIT_S = 600.0
QUIET_POLL_S = 0.05  # how long the printer must be quiet, and how often it is read
QUIET_CPU_S = 0.002  # CPU per QUIET_POLL_S below which the printer counts as quiet


def alternate(cases: dict[str, Callable[[], float]], runs: int,
              warm_up: bool = True) -> dict[str, list[float]]:
    """Run every case once to warm up (unless the caller did), then ``runs`` rounds of all
    cases in turn; seconds per case and round."""
    if warm_up:
        for case in cases.values():
            case()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, case in cases.items():
            times[name].append(case())
    return times


@contextmanager
def timed_calls(owner: Any, attribute: str, record: Callable[[float], None],
                clock: Callable[[], float] = time.perf_counter) -> Iterator[None]:
    """Within the block, each call of ``owner.attribute`` gives ``record`` the seconds it
    took by ``clock`` (wall time by default); the attribute is restored afterwards."""
    original = getattr(owner, attribute)

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = clock()
        try:
            return original(*args, **kwargs)
        finally:
            record(clock() - started)

    setattr(owner, attribute, timed)
    try:
        yield
    finally:
        setattr(owner, attribute, original)


def wait_for_pdfs(directory: Path, count: int, timeout_s: float = PDF_WAIT_S) -> None:
    """Block until ``directory`` holds at least ``count`` film PDFs (polled every 10 ms).

    A film's PDF ends in its number (``-01``); job documents do not count.
    """
    deadline = time.monotonic() + timeout_s
    while sum(1 for p in directory.glob("*.pdf") if p.stem[-3:-2] == "-") < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"fewer than {count} PDFs in {directory} after {timeout_s:.0f} s")
        time.sleep(0.01)


def spooled_jobs(output: Path) -> list[str]:
    """Print Job UIDs in the spool of the printer writing to ``output`` (accepted, not yet
    completely rendered): not ``failed/``, nor a dot directory such as ``.images/``."""
    spool = output / ".spool"
    if not spool.is_dir():
        return []
    return sorted(path.name for path in spool.iterdir()
                  if path.is_dir() and not path.name.startswith(".") and path.name != "failed")


def wait_until_idle(pid: int, output: Path, films: int, timeout_s: float = PDF_WAIT_S) -> None:
    """Block until the printer (process ``pid``, writing to ``output``) has written at
    least ``films`` film PDFs, holds no job in its spool, and is quiet
    (:func:`wait_until_quiet`): its job documents and clean-up are done, so the next
    timed run has the CPU to itself."""
    deadline = time.monotonic() + timeout_s
    wait_for_pdfs(output, films, timeout_s)
    while spooled_jobs(output):
        if time.monotonic() > deadline:
            raise RuntimeError(f"jobs still in the spool of {output} after {timeout_s:.0f} s")
        time.sleep(0.01)
    wait_until_quiet(pid, max(0.0, deadline - time.monotonic()))


def wait_until_quiet(pid: int, timeout_s: float = PDF_WAIT_S) -> float:
    """Block until process ``pid`` and its descendants (a printer's render processes) have
    used less than :data:`QUIET_CPU_S` of CPU in :data:`QUIET_POLL_S`; return their CPU
    seconds so far. Raises RuntimeError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    before = tree_cpu_s(pid)
    while time.monotonic() < deadline:
        time.sleep(QUIET_POLL_S)
        now = tree_cpu_s(pid)
        if now - before < QUIET_CPU_S:
            return now
        before = now
    raise RuntimeError(f"process {pid} was not quiet after {timeout_s:.0f} s")


def vm_hwm_mib(pid: int) -> float:
    """Peak resident set size (VmHWM) of process ``pid``, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status")


def pss_mib(pid: int) -> float:
    """Proportional set size (Pss of /proc/PID/smaps_rollup) of process ``pid``, MiB: each
    page it shares divided among its sharers, so the PSS of processes add up to what they
    hold together. 0 if the process has ended."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    raise RuntimeError(f"no Pss in /proc/{pid}/smaps_rollup")


class PeakPss:
    """The peak, over a ``with`` block, of the PSS of process ``pid`` and its descendants
    summed, sampled every ``interval_s`` on a thread of its own (a sample of five
    processes costs this process 2-3 ms of CPU)."""

    def __init__(self, pid: int, interval_s: float = 0.02) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self.peak_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="peak-pss", daemon=True)

    def __enter__(self) -> PeakPss:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _sample(self) -> None:
        while True:
            total = sum(pss_mib(pid) for pid in [self.pid, *descendants(self.pid)])
            self.peak_mib = max(self.peak_mib, total)
            if self._stop.wait(self.interval_s):
                return


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid`` and of its children it has waited for."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])  # stat fields 14..17
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


def run_time_s(pid: int) -> float:
    """Seconds the threads of process ``pid`` alive now have run on a CPU, to the
    nanosecond (/proc/<pid>/task/<tid>/schedstat); threads that have ended are not
    counted, so it measures single-threaded peers such as dcmprscp."""
    total_ns = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total_ns += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total_ns / 1e9


def tree_cpu_s(pid: int) -> float:
    """CPU seconds so far of process ``pid`` and its descendants (those that end while
    they are read are left out)."""
    total = 0.0
    for each in [pid, *descendants(pid)]:
        try:
            total += process_cpu_s(each)
        except FileNotFoundError:
            continue
    return total


def descendants(pid: int) -> list[int]:
    """Process ids below ``pid`` (Linux /proc/<pid>/task/<tid>/children); threads and
    processes that end while they are listed are left out."""
    children = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:
        return []
    for task in tasks:
        try:
            children += [int(child) for child in (task / "children").read_text().split()]
        except FileNotFoundError:  # the thread ended meanwhile
            continue
    return children + [grandchild for child in children for grandchild in descendants(child)]


class WrittenFilms:
    """A printer under test that writes its films to ``output``; ``sent`` counts them."""

    output: Path
    sent: int

    def timed(self, send: Callable[[], float]) -> Callable[[], float]:
        """``send`` then wait (untimed) until this printer wrote the film."""
        def case() -> float:
            elapsed = send()
            self.sent += 1
            wait_for_pdfs(self.output, self.sent)
            return elapsed
        return case


class PrintScpProcess(WrittenFilms):
    """print-scp in its own process for a ``with`` block; counts the films it wrote."""

    def __init__(self, workdir: Path, *extra: str) -> None:
        self.output = Path(tempfile.mkdtemp(prefix="out_", dir=workdir))
        self.port = free_port()
        self.extra = extra
        self.sent = 0
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> PrintScpProcess:
        self.process = start_print_scp(self.output, self.port, *self.extra)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=60)

    def peak_rss_mib(self) -> tuple[float, float]:
        """Peak RSS (VmHWM) in MiB of the print-scp process, and of it plus its descendants
        (its render processes) summed: pages they share are counted in each."""
        assert self.process is not None
        own = vm_hwm_mib(self.process.pid)
        return own, own + sum(vm_hwm_mib(pid) for pid in descendants(self.process.pid))

    def cpu_s(self) -> float:
        """CPU seconds so far of the print-scp process and its descendants (its render
        processes)."""
        assert self.process is not None
        return tree_cpu_s(self.process.pid)

    def started_cpu_s(self) -> float:
        """CPU seconds of the print-scp process tree once its start-up is over: it listens
        before its render processes have imported what they need (they start in the
        background), so this waits until the tree is quiet."""
        assert self.process is not None
        return wait_until_quiet(self.process.pid)


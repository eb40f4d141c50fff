"""A private CUPS server for tests (Debian ``cups``, ``cups-filters``).

:class:`PrivateCups` runs ``/usr/sbin/cupsd`` in the foreground with its own
configuration, spool and state in a temporary directory, listening on a free
loopback port, and stops it by PID. Its queues print to files (``FileDevice
Yes``) through cups-filters' Generic PDF printer driver, so what CUPS would
send to a printer can be read back as a PDF on the queue's paper.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from orthanc_server import end_process_group, free_port, is_listening

__all__ = ["CUPSD", "GENERIC_PDF_PPD", "PrivateCups", "cups_problem"]

CUPSD = Path("/usr/sbin/cupsd")
GENERIC_PDF_PPD = Path("/usr/share/ppd/cupsfilters/Generic-PDF_Printer-PDF.ppd")
START_TIMEOUT_S = 20.0


def cups_problem() -> str | None:
    """Why a private CUPS cannot run here, or None."""
    for path, package in ((CUPSD, "cups"), (GENERIC_PDF_PPD, "cups-filters"),
                          (Path("/usr/bin/lp"), "cups-client")):
        if not path.exists():
            return f"{path} is missing (Debian package {package})"
    return None


class PrivateCups:
    """cupsd on 127.0.0.1:``port`` with its files in a temporary directory of its own.

    The directory is outside pytest's (which only root may enter): CUPS runs its
    filters as its own user, who must read the queue's PPD and write the output.
    """

    def __init__(self) -> None:
        directory = Path(tempfile.mkdtemp(prefix="filmbox-cups-"))
        os.chmod(directory, 0o755)
        self.port = free_port()
        self.server = f"127.0.0.1:{self.port}"
        self.directory = directory
        for sub in ("spool", "tmp", "cache", "state", "out"):
            (directory / sub).mkdir(parents=True, exist_ok=True)
        for sub in ("tmp", "out"):  # filters and backends run as CUPS's own user
            os.chmod(directory / sub, 0o777)
        (directory / "cupsd.conf").write_text(
            f"Listen {self.server}\nServerName 127.0.0.1\nLogLevel warn\nWebInterface No\n"
            "Browsing No\nDefaultAuthType None\n<Location />\n  Order allow,deny\n"
            "  Allow all\n</Location>\n<Policy default>\n  <Limit All>\n"
            "    Order deny,allow\n  </Limit>\n</Policy>\n")
        (directory / "cups-files.conf").write_text(
            f"ServerRoot {directory}\nRequestRoot {directory}/spool\nTempDir {directory}/tmp\n"
            f"CacheDir {directory}/cache\nStateDir {directory}/state\n"
            f"ErrorLog {directory}/error_log\nAccessLog {directory}/access_log\n"
            f"PageLog {directory}/page_log\nFileDevice Yes\nSandboxing Relaxed\n")
        self.log = (directory / "cupsd.out").open("w")
        self.process = subprocess.Popen(
            [str(CUPSD), "-f", "-c", str(directory / "cupsd.conf"),
             "-s", str(directory / "cups-files.conf")],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not is_listening(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"cupsd did not start; see {directory}/error_log")
            time.sleep(0.1)

    def add_file_queue(self, name: str, paper: str = "A4") -> Path:
        """A queue printing to ``out/<name>.pdf`` on ``paper``; that path."""
        output = self.directory / "out" / f"{name}.pdf"
        subprocess.run(["lpadmin", "-h", self.server, "-p", name, "-E", "-v", f"file://{output}",
                        "-P", str(GENERIC_PDF_PPD), "-o", f"PageSize={paper}"],
                       check=True, capture_output=True, timeout=30)
        return output

    def stop(self) -> None:
        end_process_group(self.process)
        self.log.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> PrivateCups:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

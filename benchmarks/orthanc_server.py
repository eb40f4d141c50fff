"""Orthanc (Debian package ``orthanc``) as a PACS, and DCMTK's storescp, for tests and
benchmarks (tests may import benchmarks/, not the other way round).

:class:`OrthancServer` runs ``/usr/sbin/Orthanc`` with a private JSON
configuration and storage directory on free loopback ports, waits for its
REST API, and stops it by its process group. Its REST API (plain HTTP on
127.0.0.1, remote access off) tells what arrived.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

__all__ = ["ORTHANC", "OrthancServer", "StoreScp", "end_process_group", "free_port",
           "is_listening", "orthanc_available"]

ORTHANC = Path("/usr/sbin/Orthanc")
STORESCP = Path("/usr/bin/storescp")
START_TIMEOUT_S = 30.0


def free_port() -> int:
    """A TCP port of 127.0.0.1 free at the time of the call."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def is_listening(port: int) -> bool:
    """True if something accepts TCP connections on 127.0.0.1:``port``."""
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def end_process_group(process: subprocess.Popen, grace_s: float = 20.0) -> None:
    """SIGTERM the process group of ``process`` (started with start_new_session), then
    SIGKILL it if it has not ended within ``grace_s`` seconds."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def orthanc_available() -> bool:
    return ORTHANC.is_file() and os.access(ORTHANC, os.X_OK)


class OrthancServer:
    """A private Orthanc: DICOM on ``dicom_port`` (AE ORTHANC), REST on ``http_port``."""

    def __init__(self, workdir: Path, aet: str = "ORTHANC",
                 settings: dict[str, Any] | None = None):
        """``settings`` add to or replace keys of the configuration (e.g. DICOM TLS)."""
        self.aet = aet
        self.dicom_port, self.http_port = free_port(), free_port()
        self.directory = workdir / f"orthanc-{self.dicom_port}"
        self.directory.mkdir(parents=True)
        config = {
            "Name": "filmbox-test", "DicomAet": aet, "DicomPort": self.dicom_port,
            "HttpPort": self.http_port, "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False, "DicomCheckCalledAet": True,
            "StorageDirectory": str(self.directory / "storage"),
            "IndexDirectory": str(self.directory / "index"), "Plugins": [],
            "ConcurrentJobs": 1, "HttpTimeout": 10, **(settings or {}),
        }
        config_path = self.directory / "orthanc.json"
        config_path.write_text(json.dumps(config))
        self.log = (self.directory / "orthanc.log").open("w")
        self.process = subprocess.Popen([str(ORTHANC), str(config_path)], stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                self.get("/system")
                break
            except (OSError, urllib.error.URLError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"Orthanc did not start; see {self.log.name}") from None
                time.sleep(0.1)

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}",
                                    timeout=10) as response:
            body = response.read()
        return json.loads(body) if body[:1] in (b"{", b"[") else body

    def instances(self) -> list[dict[str, str]]:
        """The simplified tags of every stored instance."""
        return [self.get(f"/instances/{uid}/simplified-tags") for uid in self.get("/instances")]

    def stop(self) -> None:
        end_process_group(self.process)
        self.log.close()

    def __enter__(self) -> OrthancServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


class StoreScp:
    """DCMTK's storescp on a free port, writing what it receives into ``directory``."""

    def __init__(self, directory: Path, aet: str = "STORESCP"):
        self.aet = aet
        self.port = free_port()
        self.directory = directory
        directory.mkdir(parents=True)
        self.process = subprocess.Popen(
            [str(STORESCP), "--aetitle", aet, "--output-directory", str(directory),
             str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not is_listening(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("storescp did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        end_process_group(self.process)

    def __enter__(self) -> StoreScp:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


"""Shared pytest fixtures.

DCMTK peer and free ports: the helpers live in tests/dcmtk_peer.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dcmtk_peer import DCMTK_MISSING, DcmprscpServer, dcmtk_available, free_port
from tls_certs import Pki, make_test_pki


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``slow`` marker."""
    config.addinivalue_line(
        "markers", "slow: fuzz, fault and load tests (minutes); deselect with -m 'not slow'")


@pytest.fixture
def free_tcp_port() -> int:
    """A TCP port on 127.0.0.1 that was free when the test started."""
    return free_port()


@pytest.fixture
def dcmprscp(tmp_path: Path) -> Iterator[DcmprscpServer]:
    """A running DCMTK dcmprscp with the default PrinterProfile, fresh per test.

    ``dcmprscp.endpoint`` says where it listens (127.0.0.1 only) and where it
    stores; the server is stopped when the test ends.
    """
    if not dcmtk_available():
        pytest.skip(DCMTK_MISSING)
    server = DcmprscpServer(tmp_path)
    with server:
        yield server


@pytest.fixture(scope="session")
def tls_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A throwaway CA with server (127.0.0.1, localhost) and client certificates."""
    return make_test_pki(tmp_path_factory.mktemp("pki"))

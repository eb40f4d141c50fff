"""Timeouts: the profile's [network] section and what each one ends.

pynetdicom 3.0.4 with this printer (see ``print_scp.profile``):

* ACSE timeout: a connection that sends no A-ASSOCIATE-RQ is closed;
* network timeout: a connection stalled part-way through a PDU is closed
  (before or after association), and an established association that
  receives nothing is aborted;
* neither kind of peer holds up the accept loop or other associations.

Each test sets the timeout it exercises to 1 s and every other to 30 s, so
that only the timeout under test can explain a disconnection within
``DROP_BOUND_S``. Raw peers are plain sockets on 127.0.0.1; the printer's
side closing shows as end of file (or a reset) on the peer's side.
"""

from __future__ import annotations

import math
import socket
import struct
import time
from pathlib import Path

import pytest
from scp_harness import running_printer
from test_scp_access import address_of, assert_films_printed, print_one_film
from test_scp_cli import Serve
from tls_certs import Pki

from dicomnet.tls import TlsClientSettings, TlsSettings
from print_scp.profile import PrinterProfile, ProfileError, load_profile, profile_from_dict
from print_scu.association import PrintAssociation

SHORT_S = 1.0  # the timeout under test
LONG_S = 30.0  # every other timeout
DROP_BOUND_S = 15.0  # a dropped peer sees its connection closed within this
A_ASSOCIATE_RQ, P_DATA_TF = 0x01, 0x04  # PDU types, PS3.8 9.3.1


def pdu_start(pdu_type: int, announced: int, sent: int) -> bytes:
    """The first ``sent`` bytes of a PDU whose header announces ``announced`` bytes."""
    return struct.pack(">BBL", pdu_type, 0, announced) + bytes(sent)


def closed_by_peer(sock: socket.socket, bound_s: float = DROP_BOUND_S) -> bool:
    """True if the other end closes ``sock`` within ``bound_s`` (anything sent is read)."""
    sock.settimeout(bound_s)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


def still_open(sock: socket.socket) -> bool:
    """True if the other end has not closed ``sock`` (and sent nothing)."""
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except ConnectionResetError:
        return False
    finally:
        sock.setblocking(True)


# -- profile and command line -------------------------------------------------------------

def test_network_section_sets_the_three_timeouts(tmp_path: Path) -> None:
    path = tmp_path / "printer.toml"
    path.write_text("[network]\nacse_timeout_s = 5\ndimse_timeout_s = 7.5\n"
                    "network_timeout_s = 300\n")
    profile = load_profile(path)
    assert (profile.acse_timeout_s, profile.dimse_timeout_s, profile.network_timeout_s) == (
        5.0, 7.5, 300.0)
    default = PrinterProfile()
    assert (default.acse_timeout_s, default.dimse_timeout_s, default.network_timeout_s) == (
        30.0, 60.0, 120.0)


@pytest.mark.parametrize("key", ["acse_timeout_s", "dimse_timeout_s", "network_timeout_s"])
@pytest.mark.parametrize("value", [0, -1.5, math.nan, math.inf, "30", True])
def test_a_timeout_must_be_a_positive_number_of_seconds(key: str, value: object) -> None:
    with pytest.raises(ProfileError, match=key):
        profile_from_dict({"network": {key: value}})


def test_unknown_network_key_is_refused() -> None:
    with pytest.raises(ProfileError, match="unknown key 'idle_timeout_s' in \\[network\\]"):
        profile_from_dict({"network": {"idle_timeout_s": 5}})


def test_printer_takes_its_timeouts_from_the_profile(tmp_path: Path) -> None:
    profile = PrinterProfile(acse_timeout_s=4.0, dimse_timeout_s=5.0, network_timeout_s=6.0)
    with running_printer(tmp_path, profile) as server:
        assert (server.ae.acse_timeout, server.ae.dimse_timeout, server.ae.network_timeout) == (
            4.0, 5.0, 6.0)


def test_command_line_timeouts_override_the_profile(tmp_path: Path) -> None:
    """The profile says 30 s; ``--acse-timeout 1`` must be the one that ends a silent peer."""
    profile = tmp_path / "printer.toml"
    profile.write_text(f"[network]\nacse_timeout_s = {LONG_S}\nnetwork_timeout_s = {LONG_S}\n")
    serve = Serve(tmp_path / "films", "--config", str(profile), "--acse-timeout", str(SHORT_S))
    try:
        with socket.create_connection(("127.0.0.1", serve.port)) as silent:
            assert closed_by_peer(silent)
    finally:
        assert serve.stop() == 0


# -- peers that stop talking --------------------------------------------------------------

def test_silent_connection_is_closed_after_the_acse_timeout(tmp_path: Path) -> None:
    with running_printer(tmp_path, acse_timeout_s=SHORT_S, network_timeout_s=LONG_S) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as silent:
            assert closed_by_peer(silent)
        print_one_film(address_of(server))
        assert_films_printed(tmp_path, 1)


def test_association_request_stalled_inside_its_pdu_is_closed_after_the_network_timeout(
        tmp_path: Path) -> None:
    """The A-ASSOCIATE-RQ header announces 1000 bytes; 10 come, then nothing."""
    with running_printer(tmp_path, acse_timeout_s=LONG_S, network_timeout_s=SHORT_S) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as stalled:
            stalled.sendall(pdu_start(A_ASSOCIATE_RQ, 1000, 10))
            assert closed_by_peer(stalled)
        print_one_film(address_of(server))
        assert_films_printed(tmp_path, 1)


def test_association_stalled_inside_a_p_data_pdu_is_closed_after_the_network_timeout(
        tmp_path: Path) -> None:
    """Established, then a P-DATA-TF announcing 1000 bytes stops after 10."""
    with running_printer(tmp_path, acse_timeout_s=LONG_S, network_timeout_s=SHORT_S) as server:
        scu = PrintAssociation(address_of(server))
        connection = scu._assoc.dul.socket.socket  # the SCU's own TCP connection
        connection.sendall(pdu_start(P_DATA_TF, 1000, 10))
        deadline = time.monotonic() + DROP_BOUND_S
        while scu.is_established and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not scu.is_established, "the printer kept the stalled association"
        assert scu._assoc.is_aborted
        print_one_film(address_of(server))
        assert_films_printed(tmp_path, 1)


def test_idle_association_is_aborted_after_the_network_timeout(tmp_path: Path) -> None:
    with running_printer(tmp_path, acse_timeout_s=LONG_S, network_timeout_s=SHORT_S) as server:
        scu = PrintAssociation(address_of(server))
        assert scu.verify() == 0x0000
        deadline = time.monotonic() + DROP_BOUND_S
        while scu.is_established and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not scu.is_established, "the idle association was kept"
        assert scu._assoc.is_aborted and not scu._assoc.is_released


def test_held_connections_block_neither_new_associations_nor_printing(tmp_path: Path) -> None:
    """Silent and stalled peers, more than the render processes, while a film prints.

    They are all still connected after the film is printed: they were held
    for the whole print, by their own threads only.
    """
    with running_printer(tmp_path, acse_timeout_s=LONG_S, network_timeout_s=LONG_S) as server:
        held = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(6)]
        try:
            for stalled in held[3:]:
                stalled.sendall(pdu_start(A_ASSOCIATE_RQ, 1000, 10))
            print_one_film(address_of(server))
            assert_films_printed(tmp_path, 1)
            assert all(still_open(sock) for sock in held)
        finally:
            for sock in held:
                sock.close()


def test_tls_connection_stalled_inside_a_pdu_is_closed_after_the_network_timeout(
        tmp_path: Path, tls_pki: Pki) -> None:
    """The TLS handshake runs on the connection's thread; the read timeout must survive it."""
    tls = TlsSettings(tls_pki.server_certificate, tls_pki.server_key, tls_pki.ca_certificate)
    with running_printer(tmp_path, tls=tls, acse_timeout_s=LONG_S,
                         network_timeout_s=SHORT_S) as server:
        context = TlsClientSettings(ca_certificates=tls_pki.ca_certificate).context()
        with socket.create_connection(("127.0.0.1", server.port)) as plain, \
                context.wrap_socket(plain, server_hostname="127.0.0.1") as stalled:
            stalled.sendall(pdu_start(A_ASSOCIATE_RQ, 1000, 10))
            assert closed_by_peer(stalled)
        print_one_film(address_of(server, tls=TlsClientSettings(
            ca_certificates=tls_pki.ca_certificate)))
        assert_films_printed(tmp_path, 1)

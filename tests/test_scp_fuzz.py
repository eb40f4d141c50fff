"""The virtual printer under a hostile-input fuzzer, over the network.

Hypothesis drives one printer (for the whole module) with malformed and
random DIMSE-N request scripts and raw PDUs, built by the fuzz drivers in
benchmarks/fuzzing/ (shared with ``benchmarks/fuzz.py``, the long run).
A second, well-behaved SCU prints a film every second throughout. Every
case must end with:

* every DIMSE-N request answered in time with a status PS3.7/PS3.4 defines
  for its service (or the association aborted where PS3.8 allows it: an
  unaccepted context, a command set that is not a valid message);
* raw PDUs answered, or the association aborted or closed, as the attack
  requires;
* no ERROR record (e.g. "unexpected error" with a traceback) in the
  printer's log, no thread dying, no association state left behind;
* a fresh association printing a film successfully.

Runs are reproducible (derandomized, no example database). Case counts:
``SCRIPT_CASES + ATTACK_CASES`` (>= 500) hypothesis examples.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings

# The fuzz drivers are a tool shared with the long run, and benchmarks may not import
# from tests/: they live in benchmarks/fuzzing/, which the tests put on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from fuzzing import wire  # noqa: E402
from fuzzing.oracle import Finding, LogWatch  # noqa: E402
from fuzzing.pdu_attacks import Attack, attacks  # noqa: E402
from fuzzing.requests import PROPOSED, scripts  # noqa: E402
from fuzzing.runner import (  # noqa: E402
    NETWORK_TIMEOUT,
    FuzzRunner,
    SteadyPrinter,
    Tally,
    fuzz_printer,
    print_film,
)
from fuzzing.ul_client import RawAssociation  # noqa: E402

from print_scp.server import PrintServer  # noqa: E402

SCRIPT_CASES = 300
ATTACK_CASES = 200
# No database, so no reuse phase; no target phase (nothing is targeted, and it roughly
# doubled the run time); a failure is still shrunk to a minimal case.
FUZZ_SETTINGS = dict(deadline=None, derandomize=True, database=None,
                     phases=[Phase.explicit, Phase.generate, Phase.shrink],
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                            HealthCheck.large_base_example])
# Slow (a fuzz run); pydicom warns (UserWarning) about the malformed values the printer is sent.
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::UserWarning")]


class Fuzz:
    """The module's printer, its watchers and the runner."""

    def __init__(self, server: PrintServer, steady: SteadyPrinter, runner: FuzzRunner):
        self.server = server
        self.steady = steady
        self.runner = runner


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzz]:
    logs = LogWatch().attach()
    try:
        with fuzz_printer(tmp_path_factory.mktemp("fuzz")) as server, \
                SteadyPrinter(server.port) as steady:
            yield Fuzz(server, steady, FuzzRunner(server, Tally(), logs, others=1))
    finally:
        logs.detach()


def _report(findings: list[Finding]) -> str:
    return "\n".join(str(f) for f in findings[:5])


PRINTER, PRINTER_INSTANCE = "1.2.840.10008.5.1.1.16", "1.2.840.10008.5.1.1.17"
FILM_SESSION, FILM_BOX = "1.2.840.10008.5.1.1.1", "1.2.840.10008.5.1.1.2"
UNKNOWN_UID = "1.2.826.0.1.3680043.2.1143.999.7"
META_CONTEXT = 1  # Basic Grayscale Print Management Meta, Explicit VR LE (PROPOSED order)


def _associate(fuzz: Fuzz) -> RawAssociation:
    return RawAssociation("127.0.0.1", fuzz.server.port, PROPOSED, timeout=10)


def _create(peer: RawAssociation, message_id: int, class_uid: str,
            elements: list[wire.Element]) -> int:
    """N-CREATE on the meta context; the status."""
    command = wire.request_command(wire.N_CREATE_RQ, message_id, class_uid, None, True)
    reply = peer.request(META_CONTEXT, command, wire.encode_dataset(elements, True),
                         message_id, 10)
    return int(reply.command.Status)


def _film_box(display_format: str, session_uid: str, *extra: wire.Element) -> list:
    session = wire.sequence(0x20100500, [(wire.Element(0x00081150, "UI", wire.uid(FILM_SESSION)),
                                          wire.Element(0x00081155, "UI", wire.uid(session_uid)))])
    return [wire.Element(0x20100010, "ST", wire.text(display_format)), session, *extra]


def test_request_scripts_get_defined_statuses(fuzz: Fuzz) -> None:
    @settings(max_examples=SCRIPT_CASES, **FUZZ_SETTINGS)
    @given(scripts())
    def case(script) -> None:
        findings = fuzz.runner.run_script(script)
        assert not findings, _report(findings)

    films_before = fuzz.steady.films
    case()
    assert fuzz.steady.films > films_before, "the steady SCU printed nothing meanwhile"
    tally = fuzz.runner.tally
    # The scripts reached every service and got past the first request often.
    services = {kind.split()[0] for kind in tally.requests}
    assert services == {"N-CREATE", "N-SET", "N-ACTION", "N-GET", "N-DELETE"}
    assert tally.statuses["N-CREATE 0x0000"] > 0 and tally.statuses["N-SET 0x0000"] > 0


def test_raw_pdus_are_answered_or_aborted(fuzz: Fuzz) -> None:
    @settings(max_examples=ATTACK_CASES, **FUZZ_SETTINGS)
    @given(attacks())
    def case(attack: Attack) -> None:
        findings = fuzz.runner.run_attack(attack)
        assert not findings, _report(findings)

    films_before = fuzz.steady.films
    case()
    assert fuzz.steady.films > films_before, "the steady SCU printed nothing meanwhile"


def test_a_peer_that_stalls_mid_pdu_is_dropped(fuzz: Fuzz) -> None:
    """Part of a PDU, then silence: the printer closes within its network timeout."""
    command = wire.request_command(wire.N_GET_RQ, 1, "1.2.840.10008.5.1.1.16",
                                   "1.2.840.10008.5.1.1.17", False)
    whole = wire.message_pdus(1, command, None, 0)[0]
    with RawAssociation("127.0.0.1", fuzz.server.port, PROPOSED, timeout=10) as stalled:
        stalled.send(whole[:len(whole) // 2])
        assert stalled.closed_by_peer(NETWORK_TIMEOUT + 5)
    with RawAssociation("127.0.0.1", fuzz.server.port, None, timeout=10) as unassociated:
        unassociated.send(bytes([wire.A_ASSOCIATE_RQ, 0, 0, 0, 1, 0]))  # 256 bytes announced
        assert unassociated.closed_by_peer(NETWORK_TIMEOUT + 5)
    assert print_film(fuzz.server.port) is None


def test_an_undecodable_command_ends_the_association_cleanly(fuzz: Fuzz) -> None:
    """A command set without Command Field: A-ABORT, and the printer forgets the association."""
    with _associate(fuzz) as peer:
        peer.send(wire.pdu(wire.P_DATA_TF, wire.pdv(META_CONTEXT, wire.COMMAND_LAST,
                                                    wire.command_set(
            [wire.Element(0x00000110, "US", wire.us(1))]))))
        assert peer.closed_by_peer(10)
    assert fuzz.runner.leaked_associations() == 0


# -- the bugs the fuzzer found, one input each ------------------------------------------------
def test_film_box_naming_an_unknown_film_session_is_an_invalid_value(fuzz: Fuzz) -> None:
    """PS3.7 10.1.5.1.6 has no 0x0112 for N-CREATE: the reference is the bad value (0x0106)."""
    with _associate(fuzz) as peer:
        assert _create(peer, 1, FILM_SESSION, []) == 0x0000
        assert _create(peer, 2, FILM_BOX, _film_box("STANDARD\\1,1", UNKNOWN_UID)) == 0x0106


def test_illumination_zero_is_refused_at_n_create(fuzz: Fuzz) -> None:
    """L0 = 0 cd/m² makes PS3.14's densities undefined: refused (0x0106), not a failed job."""
    with _associate(fuzz) as peer:
        command = wire.request_command(wire.N_CREATE_RQ, 1, FILM_SESSION, UNKNOWN_UID, True)
        assert int(peer.request(META_CONTEXT, command, b"", 1, 10).command.Status) == 0x0000
        zero = wire.Element(0x2010015E, "US", wire.us(0))
        assert _create(peer, 2, FILM_BOX, _film_box("STANDARD\\1,1", UNKNOWN_UID, zero)) \
            == 0x0106


def test_request_without_its_instance_uid_is_aborted_at_once(fuzz: Fuzz) -> None:
    """pynetdicom would drop it silently; the peer would wait for its own timeout."""
    with _associate(fuzz) as peer:
        command = wire.command_set([
            wire.Element(0x00000003, "UI", wire.uid(PRINTER)),
            wire.Element(0x00000100, "US", wire.us(wire.N_GET_RQ)),
            wire.Element(0x00000110, "US", wire.us(1)),
            wire.Element(0x00000800, "US", wire.us(wire.NO_DATASET))])
        peer.send_message(META_CONTEXT, command, None)
        assert peer.closed_by_peer(NETWORK_TIMEOUT - 1)  # before the idle timeout


@pytest.mark.parametrize("class_uid", ["1.2.840.10008.5.1.4.1.1.7", "1.2.840.10008.1.1",
                                       "1.2.3.4"])
def test_n_action_on_a_class_the_printer_does_not_serve_is_0122(fuzz: Fuzz, class_uid) -> None:
    """pynetdicom picks the service by SOP class: a storage class got a C-STORE-RSP."""
    with _associate(fuzz) as peer:
        command = wire.request_command(wire.N_ACTION_RQ, 1, class_uid, UNKNOWN_UID, False,
                                       action_type_id=1)
        reply = peer.request(META_CONTEXT, command, None, 1, 10).command
        assert (reply.CommandField, reply.MessageIDBeingRespondedTo, reply.Status) == \
            (wire.N_ACTION_RQ | wire.RESPONSE_BIT, 1, 0x0122)


def test_n_event_report_from_the_scu_is_an_unrecognised_operation(fuzz: Fuzz) -> None:
    with _associate(fuzz) as peer:
        command = wire.request_command(wire.N_EVENT_REPORT_RQ, 1, PRINTER, PRINTER_INSTANCE,
                                       False, event_type_id=1)
        assert int(peer.request(META_CONTEXT, command, None, 1, 10).command.Status) == 0x0211


@pytest.mark.parametrize("pdu", [
    wire.abort_pdu(source=229),  # pynetdicom's FSM raised converting it: its DUL thread died
    wire.pdu(wire.P_DATA_TF, b"\0" * 16, length=2 * 1024 * 1024),  # above the 1 MiB announced
], ids=["A-ABORT source 229", "PDU above the maximum length"])
def test_bad_pdu_ends_the_association_without_a_dead_thread(fuzz: Fuzz, pdu: bytes) -> None:
    logs = fuzz.runner.logs
    logs.take()
    with _associate(fuzz) as peer:
        peer.send(pdu)
        assert peer.closed_by_peer(10)
    assert fuzz.runner.leaked_associations() == 0
    assert logs.take() == []


def test_the_steady_association_never_failed(fuzz: Fuzz) -> None:
    """Runs last: every film the well-behaved SCU printed meanwhile succeeded."""
    assert fuzz.steady.failures == []

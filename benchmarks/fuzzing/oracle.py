"""What a well-behaved printer answers, and the log records that betray a bug.

Every DIMSE-N request must get a response with the response Command Field,
the request's Message ID in Message ID Being Responded To, and a status the
standard defines for that service:

* the general statuses of PS3.7 10.1.2-10.1.6 (N-GET, N-SET, N-ACTION,
  N-CREATE, N-DELETE) and Annex C;
* the Print Management statuses of PS3.4 H.4 (B600-B60A, C600-C616), which
  the printer may answer on any print N-service.

0x0110 Processing Failure is defined, but it must mean a real processing
failure: one that comes with an "unexpected error" traceback from the
printer's handlers is a bug. Any ERROR record from a ``print_scp`` logger is
reported as well.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from fuzzing import wire

_PRINT_WARNINGS = {0xB600, 0xB601, 0xB602, 0xB603, 0xB604, 0xB605, 0xB609, 0xB60A}
_PRINT_FAILURES = {0xC600, 0xC601, 0xC602, 0xC603, 0xC605, 0xC613, 0xC616}
# Failures every DIMSE-N service may answer (PS3.7 10.1.x): refused not authorised,
# duplicate invocation, invalid object instance, mistyped argument, no such SOP class,
# processing failure, resource limitation, SOP class not supported, unrecognised operation.
_COMMON_FAILURES = {0x0124, 0x0210, 0x0117, 0x0212, 0x0118, 0x0110, 0x0213, 0x0122, 0x0211}
DEFINED_STATUSES: dict[int, frozenset[int]] = {
    wire.N_GET_RQ: frozenset({0x0000, 0x0107, 0x0115, 0x0112, 0x0119} | _COMMON_FAILURES),
    wire.N_SET_RQ: frozenset({0x0000, 0x0107, 0x0116, 0x0105, 0x0106, 0x0112, 0x0119, 0x0120,
                              0x0121} | _COMMON_FAILURES),
    wire.N_ACTION_RQ: frozenset({0x0000, 0x0112, 0x0114, 0x0115, 0x0119, 0x0123}
                                | _COMMON_FAILURES),
    wire.N_CREATE_RQ: frozenset({0x0000, 0x0107, 0x0116, 0x0105, 0x0106, 0x0111, 0x0120,
                                 0x0121} | _COMMON_FAILURES),
    wire.N_DELETE_RQ: frozenset({0x0000, 0x0112, 0x0119} | _COMMON_FAILURES),
    # PS3.7 10.1.1.1.8; the SCU's own reports, which the printer refuses
    wire.N_EVENT_REPORT_RQ: frozenset({0x0000, 0x0112, 0x0113, 0x0114, 0x0115, 0x0119}
                                      | _COMMON_FAILURES),
}
_PRINT_SERVICES = (wire.N_SET_RQ, wire.N_ACTION_RQ, wire.N_CREATE_RQ)
DEFINED_STATUSES.update({
    service: DEFINED_STATUSES[service] | _PRINT_WARNINGS | _PRINT_FAILURES
    for service in _PRINT_SERVICES
})



@dataclass(frozen=True)
class Finding:
    """Something the printer must never do, with what provoked it."""

    what: str  # e.g. "no response", "undefined status 0x0001"
    case: str  # the case, as hypothesis printed it or as the runner describes it

    def __str__(self) -> str:
        return f"{self.what}\n    case: {self.case}"


def check_response(service: int, message_id: int, command) -> str | None:
    """None if ``command`` (a response's command set) is a valid answer, else why not."""
    field = command.get("CommandField")
    if field != service | wire.RESPONSE_BIT:
        return f"{wire.SERVICE_NAMES[service]} answered with Command Field {field!r}"
    if command.get("MessageIDBeingRespondedTo") != message_id:
        return (f"{wire.SERVICE_NAMES[service]} answered for message "
                f"{command.get('MessageIDBeingRespondedTo')!r}, not {message_id}")
    status = command.get("Status")
    if status is None:
        return f"{wire.SERVICE_NAMES[service]} response without Status"
    if int(status) not in DEFINED_STATUSES[service]:
        return f"{wire.SERVICE_NAMES[service]} answered undefined status 0x{int(status):04X}"
    return None


_QUIET = {"print_scp": logging.ERROR, "pynetdicom": logging.CRITICAL,
          "pydicom": logging.CRITICAL}


class LogWatch(logging.Handler):
    """Collects ERROR records of the printer's loggers, and threads that die, while attached.

    ``attach()`` hooks the ``print_scp`` logger and ``threading.excepthook``
    (an exception that ends a thread, e.g. pynetdicom's DUL reactor, is a
    crash of that connection); ``take()`` returns and clears what was seen
    since the last call.
    """

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self._lock_records = threading.Lock()
        self._records: list[str] = []
        self._logger = logging.getLogger("print_scp")
        self._previous_hook = threading.excepthook
        self._levels: dict[str, int] = {}

    def _thread_died(self, args: threading.ExceptHookArgs) -> None:
        name = args.thread.name if args.thread is not None else "?"
        with self._lock_records:
            self._records.append(f"thread {name} died: {args.exc_type.__name__}: "
                                 f"{args.exc_value}")
        self._previous_hook(args)

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{record.name}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            text += f" [{type(record.exc_info[1]).__name__}: {record.exc_info[1]}]"
        with self._lock_records:
            self._records.append(text)

    def attach(self) -> LogWatch:
        """Start watching; the printer's, pynetdicom's and pydicom's loggers are quietened.

        The fuzzer makes them log thousands of warnings (with tracebacks), which
        cost time to record; only ``print_scp``'s ERROR records are kept, for
        the oracle.
        """
        self._levels = {name: logging.getLogger(name).level for name in _QUIET}
        for name, level in _QUIET.items():
            logging.getLogger(name).setLevel(level)
        self._logger.addHandler(self)
        self._previous_hook = threading.excepthook
        threading.excepthook = self._thread_died
        return self

    def detach(self) -> None:
        self._logger.removeHandler(self)
        threading.excepthook = self._previous_hook
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)

    def take(self) -> list[str]:
        with self._lock_records:
            records, self._records = self._records, []
        return records

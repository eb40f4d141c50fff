"""The pynetdicom this package was written against, checked when it is imported.

The hardening in :mod:`dicomnet` rewires pynetdicom internals: private
attributes, methods replaced on live objects, classes swapped under running
associations. It was written for pynetdicom :data:`SUPPORTED`; a release
that renames one of those names would otherwise fail deep in a DUL thread,
or silently stop protecting the printer. :func:`check_pynetdicom`, called
when :mod:`dicomnet.hardening` is imported, fails instead, with a message
naming the version and the missing name.
"""

from __future__ import annotations

import threading

import pynetdicom
from pynetdicom import dimse, dimse_messages, fsm
from pynetdicom.acse import ACSE
from pynetdicom.association import Association
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dul import DULServiceProvider
from pynetdicom.fsm import StateMachine
from pynetdicom.transport import AssociationSocket

#: The pynetdicom versions the hardening was written and tested for: >= 3.0.4, < 3.1.
SUPPORTED = ((3, 0, 4), (3, 1))

#: Every pynetdicom attribute the hardening reads, replaces or wraps, by class.
#: Instance attributes are looked for among the names the class's ``__init__``
#: (or a base class's) assigns.
TOUCHED: dict[type, tuple[str, ...]] = {
    Association: ("_accepted_cx", "_is_paused", "_kill", "_reactor_checkpoint", "_started",
                  "accepted_contexts", "acse", "dimse", "dul", "get_handlers",
                  "is_established", "network_timeout"),
    ACSE: ("is_release_requested",),
    DIMSEServiceProvider: ("dul", "get_msg", "maximum_pdu_size", "message", "msg_queue",
                           "receive_primitive", "send_msg"),
    DULServiceProvider: ("_decode_pdu", "_kill_thread", "_read_pdu_data", "_recv_pdu",
                         "_run_loop_delay", "event_queue", "peek_next_pdu", "socket",
                         "state_machine", "to_provider_queue", "to_user_queue"),
    AssociationSocket: ("_is_connected", "assoc", "event_queue", "ready", "recv", "socket"),
    StateMachine: ("current_state", "do_action"),
}

#: Module-level names the hardening reads (tables of message types and state transitions).
_MODULE_NAMES = (
    (fsm, ("TRANSITION_TABLE",)),
    (dimse, ("_RQ_TO_MESSAGE", "_RSP_TO_MESSAGE")),
    (dimse_messages, ("_COMMAND_SET_KEYWORDS", "_DATASET_KEYWORDS", "_MESSAGE_TYPES")),
)


class UnsupportedPynetdicom(ImportError):
    """The installed pynetdicom lacks something the hardening relies on."""


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:3] if part.isdigit())


def _assigned_in_init(cls: type) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        code = getattr(init, "__code__", None)
        if code is not None:
            names.update(code.co_names)
    return names


def missing_names() -> list[str]:
    """"Class.name" of every touched name the installed pynetdicom lacks."""
    missing = [f"{cls.__name__}.{name}" for cls, names in TOUCHED.items()
               for name in names
               if not hasattr(cls, name) and name not in _assigned_in_init(cls)]
    for module, names in _MODULE_NAMES:
        missing += [f"{module.__name__}.{name}" for name in names if not hasattr(module, name)]
    if "_started" not in _assigned_in_init(threading.Thread):
        missing.append("threading.Thread._started")
    return missing


def check_pynetdicom(version: str = pynetdicom.__version__) -> None:
    """Raise :class:`UnsupportedPynetdicom` unless this pynetdicom is one the hardening fits."""
    low, high = SUPPORTED
    if not low <= _version(version) < high:
        raise UnsupportedPynetdicom(
            f"filmbox needs pynetdicom >= {'.'.join(map(str, low))}, < "
            f"{'.'.join(map(str, high))} (its DICOM networking hardening rewires pynetdicom "
            f"internals); pynetdicom {version} is installed")
    missing = missing_names()
    if missing:
        raise UnsupportedPynetdicom(
            f"pynetdicom {version} lacks {', '.join(missing)}, which filmbox's DICOM "
            "networking hardening relies on")


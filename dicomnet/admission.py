"""Refusing a new association while the acceptor has no room for its work.

pynetdicom 3.0.4 refuses an association itself only for its count
(``AE.maximum_associations``). An acceptor that runs short of another
resource calls :func:`refuse_for_local_limit` from its EVT_REQUESTED
handler (the A-ASSOCIATE-RQ has arrived, nothing is negotiated yet;
pynetdicom skips negotiation for an association rejected there). The answer
is the one pynetdicom gives when its association count is exceeded:
A-ASSOCIATE-RJ with result 2 (rejected-transient), source 3 (DICOM UL
service-provider, presentation related function), reason 2
(local-limit-exceeded), PS3.8 9.3.4 Table 9-21: the requestor may try again
later.
"""

from __future__ import annotations

import logging

from pynetdicom import evt
from pynetdicom.association import Association

LOG = logging.getLogger("dicomnet.admission")

#: A-ASSOCIATE-RJ (result, source, reason): rejected-transient, service-provider
#: (presentation related function), local-limit-exceeded (PS3.8 Table 9-21).
LOCAL_LIMIT_EXCEEDED = (0x02, 0x03, 0x02)


def refuse_for_local_limit(assoc: Association, why: str) -> None:
    """Answer ``assoc``'s A-ASSOCIATE-RQ with :data:`LOCAL_LIMIT_EXCEEDED`; ``why`` is logged.

    Call from an EVT_REQUESTED handler. EVT_REJECTED follows, as for a
    rejection pynetdicom decides itself, and the connection is closed.
    """
    request = assoc.requestor.primitive
    if request is not None:
        assoc.requestor.ae_title = request.calling_ae_title
    LOG.info("%s: refusing the association (rejected-transient, local-limit-exceeded): %s",
             assoc.name, why)
    assoc.acse.send_reject(*LOCAL_LIMIT_EXCEEDED)
    evt.trigger(assoc, evt.EVT_REJECTED, {})
    assoc.kill()

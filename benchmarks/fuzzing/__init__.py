"""Hostile-input fuzzing of the virtual printer over the network.

Shared by ``tests/test_scp_fuzz.py`` (the CI run) and ``benchmarks/fuzz.py``
(the long run). It lives under benchmarks/ because benchmarks may not import
from tests/, while tests may import a tool (they put benchmarks/ on sys.path).

* :mod:`fuzzing.ul_client`: a raw DICOM Upper Layer client on a plain socket,
  so requests can carry bytes no DICOM toolkit would encode;
* :mod:`fuzzing.wire`: command sets, hand-encoded data elements and PDUs;
* :mod:`fuzzing.requests`: hypothesis strategies for DIMSE-N request scripts;
* :mod:`fuzzing.pdu_attacks`: hypothesis strategies for hostile raw PDUs;
* :mod:`fuzzing.oracle`: what an answer must look like, and the log watch;
* :mod:`fuzzing.runner`: runs cases against a printer, checks them, counts.
"""

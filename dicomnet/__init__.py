"""DICOM networking shared by the printer and the client: pynetdicom hardened for print.

* :mod:`dicomnet.hardening`: one function per role that makes a new
  association safe (bounded input, no lost or interleaved messages, idle
  associations that sleep) and quick (P-DATA read in batches, command sets
  encoded without pydicom, no unlogged message dumps), built from
  :mod:`~dicomnet.socket_tuning`, :mod:`~dicomnet.pdata_batches`,
  :mod:`~dicomnet.command_sets`, :mod:`~dicomnet.unlogged_dumps`,
  :mod:`~dicomnet.idle_wait`, :mod:`~dicomnet.input_guard`,
  :mod:`~dicomnet.acceptor_router`, :mod:`~dicomnet.requestor_races` and
  :mod:`~dicomnet.tls`;
* received data sets joined once at their exact size
  (:mod:`~dicomnet.assembled_data_sets`) and decoded with their Pixel Data
  left in the message (:mod:`~dicomnet.data_sets`);
* an acceptor's memory: :mod:`~dicomnet.memory_budget` (image bytes held
  across associations, counted as messages arrive) and
  :mod:`~dicomnet.admission` (A-ASSOCIATE-RJ, transient, when it is spent);
  glibc malloc settings: freed buffers reused by both ends and the render
  processes, from one arena shared by a process's threads
  (:mod:`~dicomnet.freed_memory`);
* the vocabulary both ends speak: :mod:`~dicomnet.terms` (defined terms),
  :mod:`~dicomnet.attribute_rules` (value ranges and lengths),
  :mod:`~dicomnet.status`, :mod:`~dicomnet.uids`,
  :mod:`~dicomnet.character_set`.

It imports no other package of filmbox. Importing the hardening checks
that the installed pynetdicom has every internal name it touches
(:mod:`dicomnet.pynetdicom_compat`). The vocabulary and the TLS settings
import no pynetdicom, so configuration can be loaded without it.
"""

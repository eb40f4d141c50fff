"""Store sinks: a film as DICOM objects, C-STOREd to a Storage SCP.

* Secondary Capture Image: the light-box rendering as printed (8-bit
  MONOCHROME2 or RGB), annotation text burned in, Pixel Spacing of the film.
* Encapsulated PDF: the film's PDF.

One Study per film session, one Series per sink and object type. Every UID
is derived from the film session, Print Job, film and sink, so a delivery
repeated after a kill replaces the instance instead of adding one.
"""

from __future__ import annotations

import socket
from datetime import datetime
from typing import Any

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    EncapsulatedPDFStorage,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    SecondaryCaptureImageStorage,
    generate_uid,
)
from pynetdicom import AE

from dicomnet.status import meaning
from print_scp.forward.sinks import PatientRules, StoreObject, StoreSink
from print_scp.forward.written_film import DeliveryError, WrittenFilm

__all__ = ["deliver_store", "instance_uid", "patient_identity", "store_datasets"]

_SOP_CLASSES = {StoreObject.SECONDARY_CAPTURE: SecondaryCaptureImageStorage,
                StoreObject.ENCAPSULATED_PDF: EncapsulatedPDFStorage}
_SERIES_NUMBERS = {StoreObject.SECONDARY_CAPTURE: 1, StoreObject.ENCAPSULATED_PDF: 2}
_WARNINGS = {0xB000, 0xB006, 0xB007}  # stored, with coercion or elements discarded


def patient_identity(document: dict[str, Any], rules: PatientRules) -> tuple[dict[str, str], str | None]:
    """Patient and Study attributes from the film's label or annotations, and a warning
    when neither rule matched (the defaults are used then)."""
    label = document.get("film_session", {}).get("in_force", {}).get("film_session_label") or ""
    texts = [str(a.get("text", "")) for a in document.get("annotation_boxes", [])]
    found = None
    if rules.from_label is not None:
        found = rules.from_label.search(label)
    if found is None and rules.from_annotation is not None:
        found = next((m for m in map(rules.from_annotation.search, texts) if m), None)
    identity = {"PatientID": rules.default_patient_id, "PatientName": rules.default_patient_name}
    if found is None:
        return identity, (f"no patient rule matched film {document.get('name', '?')}: stored "
                          f"as PatientID {rules.default_patient_id!r}")
    identity.update({key: value.strip() for key, value in found.groupdict().items()
                     if value is not None and value.strip()})
    return identity, None


def instance_uid(job_uid: str, film_name: str, sink_name: str, kind: StoreObject) -> str:
    """The SOP Instance UID of one stored object: the same for every delivery of it."""
    return str(generate_uid(entropy_srcs=[job_uid, film_name, sink_name, kind.value]))


def store_datasets(film: WrittenFilm, sink: StoreSink) -> tuple[list[Dataset], str | None]:
    """The objects ``sink`` stores for ``film``, and the identity warning if any."""
    document = film.document()
    identity, warning = patient_identity(document, sink.patient)
    session_uid = str(document.get("film_session", {}).get("uid", film.name))
    job_uid = str(document.get("print_job", {}).get("uid", film.name))
    created = _created(document)
    datasets = []
    for kind in sink.objects:
        ds = Dataset()
        ds.SpecificCharacterSet = "ISO_IR 192"
        ds.SOPClassUID = _SOP_CLASSES[kind]
        ds.SOPInstanceUID = instance_uid(job_uid, film.name, sink.name, kind)
        ds.StudyInstanceUID = generate_uid(entropy_srcs=[session_uid, "study"])
        ds.SeriesInstanceUID = generate_uid(entropy_srcs=[session_uid, sink.name, kind.value])
        ds.PatientName = identity.get("PatientName", "")
        ds.PatientID = identity["PatientID"]
        ds.PatientBirthDate = ""
        ds.PatientSex = ""
        ds.AccessionNumber = identity.get("AccessionNumber", "")
        ds.StudyDescription = identity.get("StudyDescription", "Printed films")
        ds.StudyDate = ds.ContentDate = created.strftime("%Y%m%d")
        ds.StudyTime = ds.ContentTime = created.strftime("%H%M%S")
        ds.ReferringPhysicianName = ""
        ds.StudyID = "1"
        ds.SeriesNumber = _SERIES_NUMBERS[kind]
        ds.InstanceNumber = _film_number(film.name)
        ds.ConversionType = "WSD"  # workstation
        ds.BurnedInAnnotation = "YES"
        ds.Manufacturer = "filmbox"
        ds.SeriesDescription = f"{sink.name}: films printed by {_calling_ae(document)}"
        if kind is StoreObject.SECONDARY_CAPTURE:
            ds.Modality = "OT"
            _add_image(ds, film, document)
        else:
            ds.Modality = "DOC"
            _add_pdf(ds, film)
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        datasets.append(ds)
    return datasets, warning


def _created(document: dict[str, Any]) -> datetime:
    try:
        return datetime.fromisoformat(document["print_job"]["created"])
    except (KeyError, TypeError, ValueError):
        return datetime.now()


def _calling_ae(document: dict[str, Any]) -> str:
    return str(document.get("association", {}).get("calling_ae", "?"))


def _film_number(name: str) -> int:
    suffix = name.rsplit("-", 1)[-1]
    return int(suffix) if suffix.isdigit() else 1


def _add_image(ds: Dataset, film: WrittenFilm, document: dict[str, Any]) -> None:
    """The light-box PNG as 8-bit pixels, with the film's pixel spacing (mm)."""
    try:
        with Image.open(film.path(".png")) as image:
            pixels = np.asarray(image.convert("RGB" if image.mode == "RGB" else "L"))
    except OSError as exc:
        raise DeliveryError(f"film {film.name}: its PNG cannot be read ({exc})",
                            permanent=True) from None
    rgb = pixels.ndim == 3
    ds.Rows, ds.Columns = pixels.shape[:2]
    ds.SamplesPerPixel = 3 if rgb else 1
    ds.PhotometricInterpretation = "RGB" if rgb else "MONOCHROME2"
    if rgb:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    spacing = f"{float(document['film']['pixel_spacing_mm']):.6f}"
    ds.PixelSpacing = [spacing, spacing]
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()


def _add_pdf(ds: Dataset, film: WrittenFilm) -> None:
    try:
        pdf = film.path(".pdf").read_bytes()
    except OSError as exc:
        raise DeliveryError(f"film {film.name}: its PDF cannot be read ({exc})",
                            permanent=True) from None
    ds.DocumentTitle = f"Film {film.name}"
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocumentLength = len(pdf)
    ds.EncapsulatedDocument = pdf + b"\0" * (len(pdf) % 2)


def deliver_store(film: WrittenFilm, sink: StoreSink) -> str | None:
    """C-STORE the film's objects; returns the identity warning, if any.

    Raises DeliveryError: permanent for a status that will not change on a
    retry (the SCP refuses the object), else transient.
    """
    datasets, warning = store_datasets(film, sink)
    ae = AE(ae_title=sink.calling_ae)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = sink.timeout_s
    for sop_class in {str(ds.SOPClassUID) for ds in datasets}:
        ae.add_requested_context(sop_class, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
    try:
        context = sink.tls.context() if sink.tls is not None else None
    except OSError as exc:
        raise DeliveryError(f"TLS: {exc}", permanent=True) from None
    assoc = ae.associate(sink.host, sink.port, ae_title=sink.called_ae,
                         tls_args=None if context is None else (context, sink.host))
    if not assoc.is_established:
        why = ("association rejected" if assoc.is_rejected else
               f"no TLS connection: {context.handshake_error}"
               if context is not None and context.handshake_error else _unreachable(sink))
        raise DeliveryError(f"{sink.called_ae} at {sink.host}:{sink.port}: {why}")
    try:
        for ds in datasets:
            _check(assoc.send_c_store(ds), ds)
    finally:
        if assoc.is_established:
            assoc.release()
    return warning


def _unreachable(sink: StoreSink) -> str:
    """Why an association was not established: the TCP error if a connection fails now."""
    try:
        with socket.create_connection((sink.host, sink.port), timeout=sink.timeout_s):
            return "association aborted"
    except OSError as exc:
        return f"not reached ({exc.strerror or exc})"


def _check(status: Dataset, ds: Dataset) -> None:
    what = "Secondary Capture" if ds.SOPClassUID == SecondaryCaptureImageStorage else "PDF"
    if "Status" not in status:
        raise DeliveryError(f"C-STORE {what}: no response (timeout or connection lost)")
    code = int(status.Status)
    if code == 0 or code in _WARNINGS:
        return
    comment = f": {status.ErrorComment}" if "ErrorComment" in status else ""
    message = f"C-STORE {what}: 0x{code:04X} {meaning(code)}{comment}"
    # Out of resources (A7xx) may pass later; a refusal of the object itself will not
    raise DeliveryError(message, permanent=not 0xA700 <= code <= 0xA7FF)

"""The JSON form of a :class:`~film.model.FilmSpec`, its arrays kept apart.

A film specification is stored as a JSON document plus named arrays (image
pixels, Presentation LUT tables), so the arrays can be saved as files of
their own and read back memory-mapped. Enums are stored by value.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np

from film.annotation_format import AnnotationFormat
from film.model import (
    AnnotationContent,
    DecimateCropBehavior,
    FilmSpec,
    ImageBoxContent,
    ImagePixels,
    MagnificationType,
    MediumType,
)
from film.smoothing import UnsharpMask
from lut.polarity import Polarity
from lut.presentation import PresentationLUT, PresentationLUTShape

__all__ = ["spec_from_json", "spec_to_json"]


def _lut_to_json(lut: PresentationLUT | None, key: str, arrays: dict[str, np.ndarray]
                 ) -> dict[str, Any] | None:
    if lut is None:
        return None
    if lut.data is not None:
        arrays[key] = lut.data
    return {"shape": lut.shape.value if lut.shape else None,
            "descriptor": list(lut.descriptor) if lut.descriptor else None,
            "data": key if lut.data is not None else None}


def _lut_from_json(doc: dict[str, Any] | None, arrays: dict[str, np.ndarray]
                   ) -> PresentationLUT | None:
    if doc is None:
        return None
    if doc["shape"] is not None:
        return PresentationLUT(shape=PresentationLUTShape(doc["shape"]))
    return PresentationLUT(shape=None, descriptor=tuple(doc["descriptor"]),
                           data=arrays[doc["data"]])


def spec_to_json(spec: FilmSpec, prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """The JSON form of ``spec``; its arrays go into ``arrays`` under keys starting ``prefix``."""
    boxes = []
    for box in spec.image_boxes:
        key = f"{prefix}_b{box.position}"
        image = None
        if box.image is not None:
            arrays[key] = box.image.pixels
            image = {"pixels": key, "photometric": box.image.photometric,
                     "bits_stored": box.image.bits_stored,
                     "pixel_aspect_ratio": list(box.image.pixel_aspect_ratio)}
        boxes.append({
            "position": box.position, "image": image, "polarity": box.polarity.value,
            "magnification_type": box.magnification_type.value if box.magnification_type else None,
            "smoothing_type": box.smoothing_type,
            "requested_image_size_mm": box.requested_image_size_mm,
            "decimate_crop": box.decimate_crop.value if box.decimate_crop else None,
            "presentation_lut": _lut_to_json(box.presentation_lut, f"{key}_lut", arrays),
        })
    doc = {f.name: getattr(spec, f.name) for f in fields(spec)
           if f.name not in ("image_boxes", "presentation_lut", "annotations", "custom_layouts",
                             "smoothing_filters", "annotation_format", "annotation_fonts")}
    doc["magnification_type"] = spec.magnification_type.value
    doc["medium_type"] = spec.medium_type.value
    doc["image_boxes"] = boxes
    doc["annotations"] = [{"position": a.position, "text": a.text} for a in spec.annotations]
    doc["presentation_lut"] = _lut_to_json(spec.presentation_lut, f"{prefix}_lut", arrays)
    doc["custom_layouts"] = {str(k): [list(c) for c in v] for k, v in spec.custom_layouts.items()}
    doc["smoothing_filters"] = {name: [f.radius_mm, f.amount]
                                for name, f in spec.smoothing_filters.items()}
    doc["annotation_format"] = (spec.annotation_format.to_json()
                                if spec.annotation_format is not None else None)
    doc["annotation_fonts"] = list(spec.annotation_fonts)
    return doc


def spec_from_json(doc: dict[str, Any], arrays: dict[str, np.ndarray]) -> FilmSpec:
    """The inverse of :func:`spec_to_json`, with the arrays stored under their keys."""
    boxes = []
    for b in doc["image_boxes"]:
        image = None
        if b["image"] is not None:
            image = ImagePixels(arrays[b["image"]["pixels"]], b["image"]["photometric"],
                                b["image"]["bits_stored"],
                                tuple(b["image"]["pixel_aspect_ratio"]))
        boxes.append(ImageBoxContent(
            position=b["position"], image=image, polarity=Polarity(b["polarity"]),
            magnification_type=MagnificationType(b["magnification_type"])
            if b["magnification_type"] else None,
            smoothing_type=b["smoothing_type"],
            requested_image_size_mm=b["requested_image_size_mm"],
            decimate_crop=DecimateCropBehavior(b["decimate_crop"]) if b["decimate_crop"] else None,
            presentation_lut=_lut_from_json(b["presentation_lut"], arrays),
        ))
    values = dict(doc)
    values["image_boxes"] = boxes
    values["annotations"] = [AnnotationContent(a["position"], a["text"])
                             for a in doc["annotations"]]
    values["magnification_type"] = MagnificationType(doc["magnification_type"])
    values["medium_type"] = MediumType(doc["medium_type"])
    values["presentation_lut"] = _lut_from_json(doc["presentation_lut"], arrays)
    values["custom_layouts"] = {int(k): [tuple(c) for c in v]
                                for k, v in doc["custom_layouts"].items()}
    values["smoothing_filters"] = {name: UnsharpMask(*pair)
                                   for name, pair in doc.get("smoothing_filters", {}).items()}
    values["annotation_format"] = (AnnotationFormat.from_json(doc["annotation_format"])
                                   if doc.get("annotation_format") else None)
    values["annotation_fonts"] = tuple(doc.get("annotation_fonts", ()))
    values["margins_mm"] = tuple(doc.get("margins_mm", (5.0, 5.0)))
    return FilmSpec(**values)

"""Hypothesis strategies for DIMSE-N request scripts against a print SCP.

A script is a short list of :class:`Request` values sent on one
association, in order. Requests name the instances they act on
symbolically (:class:`Ref`: "the film box created first", "an image box
of it"), resolved by the runner from the printer's earlier answers, so a
script can reach deep states (an image box N-SET needs a film box, which
needs a film session) and still be wrong in any way: a reference to an
instance that does not exist yet, or no longer does, is simply an unknown
UID for the printer (N-SET before N-CREATE, N-ACTION of a deleted film box).

Each request is valid-ish by default and hostile where hypothesis decides:
values of the wrong VR or length, huge and negative numbers, text where a
number belongs, missing required and unknown extra attributes, sequences
with 0 or 2 items, pixel data of the wrong length, a garbage data set, a SOP
class that is not the context's, an unknown instance UID.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from hypothesis import strategies as st

from dicomnet import uids
from fuzzing import wire
from fuzzing.wire import Element


@dataclass(frozen=True)
class Ref:
    """The ``index``-th instance of ``kind`` the printer created on this association."""

    kind: str
    index: int = 0


@dataclass(frozen=True)
class RefSequence:
    """A Referenced ... Sequence of one item naming (class UID, the Ref's instance UID)."""

    tag: int
    class_uid: str
    ref: Ref


DatasetPart = Element | RefSequence
DatasetSpec = tuple[DatasetPart, ...] | bytes  # bytes: sent as the data set, as they are


@dataclass(frozen=True)
class ContextChoice:
    """Which presentation context carries the request.

    ``natural``: the context the SOP class belongs to, with ``explicit`` VR
    or not; ``other``: the ``index``-th accepted context whatever its
    abstract syntax (often the wrong one); ``unaccepted``: a context ID the
    printer never accepted.
    """

    how: str  # "natural", "other" or "unaccepted"
    explicit: bool = True
    index: int = 0


@dataclass(frozen=True)
class Request:
    service: int  # wire.N_CREATE_RQ, ...
    class_uid: str
    instance: Ref | str | None  # None: no instance UID in the command
    dataset: DatasetSpec | None
    context: ContextChoice
    action_type_id: int | None = None
    attribute_identifiers: bytes | None = None  # N-GET: (0000,1005) AT value bytes

    @property
    def kind(self) -> str:
        """For the summary, e.g. "N-SET Basic Grayscale Image Box"."""
        name = CLASS_NAMES.get(self.class_uid, "other class")
        return f"{wire.SERVICE_NAMES[self.service]} {name}"


CLASS_NAMES = {
    uids.BASIC_FILM_SESSION: "Film Session", uids.BASIC_FILM_BOX: "Film Box",
    uids.BASIC_GRAYSCALE_IMAGE_BOX: "Grayscale Image Box",
    uids.BASIC_COLOR_IMAGE_BOX: "Color Image Box", uids.BASIC_ANNOTATION_BOX: "Annotation Box",
    uids.PRESENTATION_LUT: "Presentation LUT", uids.PRINTER: "Printer", uids.PRINT_JOB: "Print Job",
    uids.PRINTER_CONFIGURATION_RETRIEVAL: "Printer Configuration Retrieval",
}
# The abstract syntaxes the fuzzer proposes (each with both transfer syntaxes).
PROPOSED = [uids.BASIC_GRAYSCALE_PRINT_META, uids.BASIC_COLOR_PRINT_META, uids.PRINTER,
            uids.PRINT_JOB, uids.PRESENTATION_LUT, uids.BASIC_ANNOTATION_BOX,
            uids.PRINTER_CONFIGURATION_RETRIEVAL, uids.VERIFICATION]
# The context a SOP class's messages belong on (the meta SOP class for its members).
NATURAL_CONTEXT = {
    uids.BASIC_FILM_SESSION: uids.BASIC_GRAYSCALE_PRINT_META,
    uids.BASIC_FILM_BOX: uids.BASIC_GRAYSCALE_PRINT_META,
    uids.BASIC_GRAYSCALE_IMAGE_BOX: uids.BASIC_GRAYSCALE_PRINT_META,
    uids.BASIC_COLOR_IMAGE_BOX: uids.BASIC_COLOR_PRINT_META,
    uids.PRINTER: uids.BASIC_GRAYSCALE_PRINT_META,
    uids.BASIC_ANNOTATION_BOX: uids.BASIC_ANNOTATION_BOX,
    uids.PRESENTATION_LUT: uids.PRESENTATION_LUT,
    uids.PRINT_JOB: uids.PRINT_JOB,
    uids.PRINTER_CONFIGURATION_RETRIEVAL: uids.PRINTER_CONFIGURATION_RETRIEVAL,
}
UNKNOWN_UID = "1.2.826.0.1.3680043.2.1143.999.1"

# -- tags (PS3.6) ------------------------------------------------------------------------------
T = {
    "ReferencedSOPClassUID": 0x00081150, "ReferencedSOPInstanceUID": 0x00081155,
    "SamplesPerPixel": 0x00280002, "PhotometricInterpretation": 0x00280004,
    "PlanarConfiguration": 0x00280006, "Rows": 0x00280010, "Columns": 0x00280011,
    "PixelAspectRatio": 0x00280034, "BitsAllocated": 0x00280100, "BitsStored": 0x00280101,
    "HighBit": 0x00280102, "PixelRepresentation": 0x00280103, "LUTDescriptor": 0x00283002,
    "LUTExplanation": 0x00283003, "LUTData": 0x00283006,
    "NumberOfCopies": 0x20000010, "PrintPriority": 0x20000020, "MediumType": 0x20000030,
    "FilmDestination": 0x20000040, "FilmSessionLabel": 0x20000050,
    "MemoryAllocation": 0x20000060, "OwnerID": 0x21000160,
    "ImageDisplayFormat": 0x20100010, "AnnotationDisplayFormatID": 0x20100030,
    "FilmOrientation": 0x20100040, "FilmSizeID": 0x20100050, "MagnificationType": 0x20100060,
    "SmoothingType": 0x20100080, "BorderDensity": 0x20100100, "EmptyImageDensity": 0x20100110,
    "MinDensity": 0x20100120, "MaxDensity": 0x20100130, "Trim": 0x20100140,
    "ConfigurationInformation": 0x20100150, "Illumination": 0x2010015E,
    "ReflectedAmbientLight": 0x20100160, "ReferencedFilmSessionSequence": 0x20100500,
    "ImageBoxPosition": 0x20200010, "Polarity": 0x20200020, "RequestedImageSize": 0x20200030,
    "RequestedDecimateCropBehavior": 0x20200040, "RequestedResolutionID": 0x20200050,
    "BasicGrayscaleImageSequence": 0x20200110, "BasicColorImageSequence": 0x20200111,
    "AnnotationPosition": 0x20300010, "TextString": 0x20300020,
    "PresentationLUTSequence": 0x20500010, "PresentationLUTShape": 0x20500020,
    "ReferencedPresentationLUTSequence": 0x20500500, "PixelData": 0x7FE00010,
}

# -- values ------------------------------------------------------------------------------------
_TEXT_VRS = ("CS", "IS", "DS", "LO", "ST", "SH", "UI", "LT")
_HOSTILE_TEXT = st.sampled_from([
    "", " ", "abc", "-1", "-99999999999", "99999999999999999999", "1e309", "nan", "inf",
    "2.5", "0x10", "1\\2", "\\", "\x00", "STANDARD\\", "é", "\x1b[0m", "BLACK\\WHITE",
    "STANDARD\\0,0", "STANDARD\\33,1", "CUSTOM\\-1", "ROW\\" + ",".join(["32"] * 32),
    "  PORTRAIT  ", "portrait", "x" * 65, "x" * 2000,
])
_HOSTILE_BYTES = st.one_of(
    st.binary(max_size=7),
    st.sampled_from([b"\xff" * 3, b"\xff\xff\xff\xff", b"\x00", b"\x80" * 9]),
)


@cache
def _roll_table(weights: tuple[tuple[object, int], ...]) -> st.SearchStrategy:
    table = [value for value, weight in weights for _ in range(weight)]
    return st.integers(0, len(table) - 1).map(table.__getitem__)


def _roll(weights: dict) -> st.SearchStrategy:
    """A value drawn with the given integer weights.

    ``one_of`` and ``sampled_from`` do not weight: hypothesis merges repeated
    branches, and its index choice leans towards the ends of the list.
    """
    return _roll_table(tuple(weights.items()))


@cache
def _valid_text(vr: str, *options: str) -> st.SearchStrategy[tuple[str, bytes]]:
    return st.sampled_from(options).map(lambda v: (vr, wire.text(v)))


@cache
def _valid_us(low: int, high: int) -> st.SearchStrategy[tuple[str, bytes]]:
    return st.integers(low, high).map(lambda v: ("US", wire.us(v)))


@cache
def _hostile(vr: str) -> st.SearchStrategy[tuple[str, bytes]]:
    """A value of the right VR but a bad content or length, or of a wrong VR altogether."""
    same_vr = st.one_of(
        _HOSTILE_TEXT.map(lambda v: (vr, wire.text(v))),
        _HOSTILE_BYTES.map(lambda b: (vr, b)),
        st.integers(-(2**63), 2**63).map(lambda v: (vr, str(v).encode())),
    )
    if vr == "US":
        same_vr = st.one_of(
            same_vr,
            st.sampled_from([0, 1, 0x7FFF, 0x8000, 0xFFFF]).map(lambda v: ("US", wire.us(v))),
            st.lists(st.integers(0, 0xFFFF), min_size=2, max_size=3).map(
                lambda vs: ("US", wire.us(*vs))))
    wrong_vr = st.tuples(st.sampled_from(["US", "SS", "UL", "FD", "OB", "UN", "SQ", "XX",
                                          "AT", *_TEXT_VRS]),
                         st.one_of(_HOSTILE_BYTES, _HOSTILE_TEXT.map(wire.text)))
    return st.one_of(same_vr, wrong_vr)


def _attribute(draw, keyword: str, vr: str, valid: st.SearchStrategy,
               hostility: float) -> Element:
    """The element of ``keyword``: a valid value, or (with weight ``hostility``) a hostile one."""
    hostile = draw(st.integers(0, 99)) < hostility * 100
    written_vr, value = draw(_hostile(vr) if hostile else valid)
    if written_vr == "SQ":  # a sequence where a value belongs: one item of garbage
        return wire.sequence(T[keyword], [value])
    return Element(T[keyword], written_vr, value)


@cache
def _unknown_elements() -> st.SearchStrategy[list[Element]]:
    """Attributes no print SOP class defines: private, retired, command, file meta groups."""
    tag = st.one_of(
        st.sampled_from([0x00100010, 0x00080060, 0x00091010, 0x00000100, 0x00020010,
                         0x7FE00010, 0x20100500, 0xFFFEE000, 0x00280010]),
        st.integers(0x00080000, 0x7FFFFFFF),
    )
    return st.lists(st.builds(Element, tag, st.sampled_from(["LO", "US", "OB", "UN", "CS"]),
                              st.binary(max_size=9)), max_size=3)


# -- per SOP class: attributes and their valid values ----------------------------------------------
_SESSION = {
    "NumberOfCopies": ("IS", st.integers(1, 120).map(lambda v: ("IS", wire.text(str(v))))),
    "PrintPriority": ("CS", _valid_text("CS", "HIGH", "MED", "LOW")),
    "MediumType": ("CS", _valid_text("CS", "PAPER", "CLEAR FILM", "BLUE FILM")),
    "FilmDestination": ("CS", _valid_text("CS", "MAGAZINE", "PROCESSOR", "BIN_2")),
    "FilmSessionLabel": ("LO", _valid_text("LO", "fuzz", "label")),
    "MemoryAllocation": ("IS", _valid_text("IS", "0", "1024")),
    "OwnerID": ("SH", _valid_text("SH", "OWNER")),
}
_FILM_BOX_SETTABLE = {
    "MagnificationType": ("CS", _valid_text("CS", "REPLICATE", "BILINEAR", "CUBIC", "NONE")),
    "SmoothingType": ("CS", _valid_text("CS", "SMOOTH", "SHARP")),
    "BorderDensity": ("CS", _valid_text("CS", "BLACK", "WHITE", "150")),
    "EmptyImageDensity": ("CS", _valid_text("CS", "BLACK", "WHITE", "20")),
    "MinDensity": ("US", _valid_us(10, 100)),  # hundredths of OD; any pair is valid
    "MaxDensity": ("US", _valid_us(150, 360)),
    "Trim": ("CS", _valid_text("CS", "YES", "NO")),
    "ConfigurationInformation": ("ST", _valid_text("ST", "", "config")),
    "Illumination": ("US", _valid_us(1, 5000)),  # cd/m²
    "ReflectedAmbientLight": ("US", _valid_us(0, 100)),
}
_FILM_BOX_CREATE = {
    **_FILM_BOX_SETTABLE,
    "ImageDisplayFormat": ("ST", _valid_text("ST",
        "STANDARD\\1,1", "STANDARD\\2,1", "STANDARD\\2,2", "ROW\\1,2", "COL\\2,1", "SLIDE",
        "CUSTOM\\1")),
    "AnnotationDisplayFormatID": ("CS", _valid_text("CS", "ANNOTATION", "LABEL")),
    "FilmOrientation": ("CS", _valid_text("CS", "PORTRAIT", "LANDSCAPE")),
    "FilmSizeID": ("CS", _valid_text("CS", "8INX10IN", "A4", "24CMX24CM")),
    "RequestedResolutionID": ("CS", _valid_text("CS", "STANDARD", "HIGH")),
}
_IMAGE_BOX_COMMON = {
    "Polarity": ("CS", _valid_text("CS", "NORMAL", "REVERSE")),
    "MagnificationType": _FILM_BOX_SETTABLE["MagnificationType"],
    "SmoothingType": _FILM_BOX_SETTABLE["SmoothingType"],
    "RequestedImageSize": ("DS", _valid_text("DS", "10", "25.4", "300")),
    "RequestedDecimateCropBehavior": ("CS", _valid_text("CS", "DECIMATE", "CROP", "FAIL")),
}
_ANNOTATION = {"TextString": ("LO", _valid_text("LO", "", "fuzz text"))}


def _attributes(draw, table: dict, hostility: float, required: tuple[str, ...] = ()) -> list:
    """Some of ``table``'s attributes (``required`` ones usually present)."""
    out = []
    for keyword, (vr, valid) in table.items():
        if keyword in required:
            present = not hostility or draw(st.integers(0, 99)) < 90
        else:
            present = draw(st.integers(0, 99)) < 35
        if present:
            out.append(_attribute(draw, keyword, vr, valid, hostility))
    return out


@cache
def _count_of_items() -> st.SearchStrategy[int]:
    """1 item mostly; 0 or 2 sometimes (a one-item sequence must have exactly one)."""
    return _roll({1: 8, 0: 1, 2: 1})


def _reference_sequence(draw, keyword: str, class_uid: str, kind: str,
                        hostility: float) -> DatasetPart:
    """Referenced ... Sequence to a created instance, or (if hostile) a broken one."""
    if not hostility:
        return RefSequence(T[keyword], class_uid, Ref(kind))
    count = draw(_count_of_items())
    if count == 1 and draw(st.integers(0, 9)) < 8:
        return RefSequence(T[keyword], draw(st.sampled_from([class_uid] * 4 + [UNKNOWN_UID])),
                           Ref(kind, draw(st.integers(0, 2))))
    item = (Element(T["ReferencedSOPClassUID"], "UI", wire.uid(class_uid)),
            Element(T["ReferencedSOPInstanceUID"], "UI",
                    wire.uid(draw(st.sampled_from([UNKNOWN_UID, "", "1.2.abc", "0" * 70])))))
    return wire.sequence(T[keyword], [item] * count,
                         undefined_length=draw(st.booleans()))


def _image_item(draw, color: bool, hostility: float) -> tuple[Element, ...]:
    """An image sequence item: small pixel data, sometimes of the wrong length or kind."""
    rows = draw(st.integers(1, 24))
    columns = draw(st.integers(1, 24))
    samples = 3 if color else 1
    allocated, stored = (8, 8) if color else draw(st.sampled_from([(8, 8), (16, 12), (16, 8)]))
    size = rows * columns * samples * allocated // 8
    delta = draw(_roll({0: 6, -1: 1, 1: 1, 2: 1, -size: 1, size: 1, -(size // 2): 1})
                 if hostility else st.just(0))
    pixel_bytes = bytes([0x5A]) * max(0, size + delta)
    fields = {
        "SamplesPerPixel": ("US", st.just(("US", wire.us(samples)))),
        "PhotometricInterpretation": ("CS", st.just(
            ("CS", wire.text("RGB" if color else draw(st.sampled_from(["MONOCHROME1",
                                                                         "MONOCHROME2"])))))),
        "Rows": ("US", st.just(("US", wire.us(rows)))),
        "Columns": ("US", st.just(("US", wire.us(columns)))),
        "BitsAllocated": ("US", st.just(("US", wire.us(allocated)))),
        "BitsStored": ("US", st.just(("US", wire.us(stored)))),
        "HighBit": ("US", st.just(("US", wire.us(stored - 1)))),
        "PixelRepresentation": ("US", st.just(("US", wire.us(0)))),
        "PixelAspectRatio": ("IS", _valid_text("IS", "1\\1", "2\\1")),
        "PlanarConfiguration": ("US", st.just(("US", wire.us(1)))),
        "PixelData": ("OB", st.sampled_from(["OB", "OW"]).map(lambda vr: (vr, pixel_bytes))),
    }
    if not color:
        del fields["PlanarConfiguration"]
    required = tuple(k for k in fields if k != "PixelAspectRatio")
    return tuple(_attributes(draw, fields, hostility, required))


# -- requests ----------------------------------------------------------------------------------
def _dataset(draw, parts: list, hostility: float) -> DatasetSpec:
    """The request's data set: the given parts plus unknown ones, or sometimes garbage."""
    if not hostility:
        return tuple(parts)
    if draw(st.integers(0, 99)) < 3:
        return draw(st.binary(max_size=64))
    return tuple(parts + draw(_unknown_elements() if draw(st.integers(0, 9)) < 2
                              else st.just([])))


@cache
def _instance(kind: str) -> st.SearchStrategy[Ref | str | None]:
    return st.one_of(
        st.integers(0, 2).map(lambda i: Ref(kind, i)),
        st.sampled_from([UNKNOWN_UID, "", "1.2.3.", "x" * 80, uids.PRINTER_INSTANCE]),
    ) if kind else st.just(None)


@cache
@st.composite
def _weighted_instance(draw, kind: str, hostility: float) -> Ref | str | None:
    """Mostly the real instance, sometimes (if hostile) a wrong UID or none at all."""
    if not hostility:
        return Ref(kind) if kind else None
    roll = draw(st.integers(0, 9))
    if roll < 7:
        return Ref(kind, draw(st.integers(0, 2))) if kind else None
    return draw(_instance(kind)) if roll < 9 else None


@cache
@st.composite
def _context(draw, hostility: float) -> ContextChoice:
    """The natural context mostly (if hostile, one in ten: another one, one in twenty:
    unaccepted)."""
    roll = draw(st.integers(0, 19)) if hostility else 0
    explicit = draw(st.booleans())
    if roll < 17:
        return ContextChoice("natural", explicit)
    if roll < 19:
        return ContextChoice("other", explicit, draw(st.integers(0, 15)))
    return ContextChoice("unaccepted", explicit, draw(st.sampled_from([2, 99, 255])))


def _requested_uid(draw, hostility: float, *choices: str) -> str | None:
    """N-CREATE's Affected SOP Instance UID: none (the printer makes one) or, if hostile,
    one of ``choices``."""
    if not hostility or draw(st.integers(0, 2)) == 0:
        return None
    return draw(st.sampled_from(choices))


@cache
@st.composite
def film_session_create(draw, hostility: float) -> Request:
    parts = _attributes(draw, _SESSION, hostility)
    return Request(wire.N_CREATE_RQ, uids.BASIC_FILM_SESSION,
                   _requested_uid(draw, hostility, UNKNOWN_UID + ".1", "", "1..2", "x"),
                   _dataset(draw, parts, hostility), draw(_context(hostility)))


@cache
@st.composite
def film_session_set(draw, hostility: float) -> Request:
    parts = _attributes(draw, _SESSION, hostility)
    return Request(wire.N_SET_RQ, uids.BASIC_FILM_SESSION,
                   draw(_weighted_instance("session", hostility)),
                   _dataset(draw, parts, hostility), draw(_context(hostility)))


@cache
@st.composite
def film_box_create(draw, hostility: float) -> Request:
    parts = _attributes(draw, _FILM_BOX_CREATE, hostility, ("ImageDisplayFormat",))
    if not hostility or draw(st.integers(0, 9)) < 9:
        parts.append(_reference_sequence(draw, "ReferencedFilmSessionSequence",
                                         uids.BASIC_FILM_SESSION, "session", hostility))
    if hostility and draw(st.integers(0, 9)) < 2:
        parts.append(_reference_sequence(draw, "ReferencedPresentationLUTSequence",
                                         uids.PRESENTATION_LUT, "plut", hostility))
    return Request(wire.N_CREATE_RQ, uids.BASIC_FILM_BOX,
                   _requested_uid(draw, hostility, "", "1.2.x"),
                   _dataset(draw, parts, hostility), draw(_context(hostility)))


@cache
@st.composite
def film_box_set(draw, hostility: float) -> Request:
    parts = _attributes(draw, _FILM_BOX_SETTABLE, hostility)
    return Request(wire.N_SET_RQ, uids.BASIC_FILM_BOX,
                   draw(_weighted_instance("film_box", hostility)),
                   _dataset(draw, parts, hostility), draw(_context(hostility)))


@cache
@st.composite
def image_box_set(draw, hostility: float) -> Request:
    color = bool(hostility) and draw(st.integers(0, 9)) < 2
    parts = _attributes(draw, _IMAGE_BOX_COMMON, hostility)
    if not hostility:
        parts.append(Element(T["ImageBoxPosition"], "US", wire.us(1)))
    elif draw(st.integers(0, 9)) < 8:
        parts.append(Element(T["ImageBoxPosition"], "US", wire.us(draw(
            _roll({1: 6, 2: 1, 0: 1, 65535: 1})))))
    count = draw(_count_of_items()) if hostility else 1
    items = [_image_item(draw, color, hostility) for _ in range(count)]
    sequence = "BasicColorImageSequence" if color else "BasicGrayscaleImageSequence"
    if not hostility or draw(st.integers(0, 9)) < 9:
        parts.append(wire.sequence(T[sequence], items, undefined_length=draw(st.booleans())))
    if hostility and not color and draw(st.integers(0, 9)) < 1:
        parts.append(_reference_sequence(draw, "ReferencedPresentationLUTSequence",
                                         uids.PRESENTATION_LUT, "plut", hostility))
    class_uid = uids.BASIC_COLOR_IMAGE_BOX if color else uids.BASIC_GRAYSCALE_IMAGE_BOX
    return Request(wire.N_SET_RQ, class_uid, draw(_weighted_instance("image_box", hostility)),
                   _dataset(draw, parts, hostility), draw(_context(hostility)))


@cache
@st.composite
def annotation_box_set(draw, hostility: float) -> Request:
    parts = _attributes(draw, _ANNOTATION, hostility)
    if draw(st.integers(0, 9)) < 8:
        parts.append(Element(T["AnnotationPosition"], "US",
                             wire.us(draw(st.sampled_from([1, 1, 2, 0, 70000])))))
    return Request(wire.N_SET_RQ, uids.BASIC_ANNOTATION_BOX,
                   draw(_weighted_instance("annotation_box", hostility)),
                   _dataset(draw, parts, hostility), draw(_context(hostility)))


@cache
@st.composite
def presentation_lut_create(draw, hostility: float) -> Request:
    parts: list = []
    choice = draw(st.sampled_from(["shape", "table", "both", "none"]))
    if choice in ("shape", "both"):
        parts.append(_attribute(draw, "PresentationLUTShape", "CS", _valid_text(
            "CS", "IDENTITY", "LIN OD", "INVERSE"), hostility))
    if choice in ("table", "both"):
        entries = draw(st.sampled_from([256, 4096, 2, 0, 65536]))
        first = draw(st.sampled_from([0, 0, 5, -1]))
        bits = draw(st.sampled_from([8, 10, 12, 16, 0, 17]))
        data_count = draw(st.sampled_from([entries, entries, entries - 1, 1, 0]))
        item = (
            Element(T["LUTDescriptor"], draw(st.sampled_from(["US", "US", "SS", "OB"])),
                    wire.us(entries, first, bits)),
            Element(T["LUTData"], draw(st.sampled_from(["US", "OW", "OB"])),
                    wire.us(*[(i * 16) & 0xFFF for i in range(max(0, min(data_count, 4096)))])),
        )
        parts.append(wire.sequence(T["PresentationLUTSequence"],
                                   [item] * draw(_count_of_items())))
    return Request(wire.N_CREATE_RQ, uids.PRESENTATION_LUT,
                   _requested_uid(draw, hostility, UNKNOWN_UID + ".7", "bad uid"),
                   _dataset(draw, parts, hostility), draw(_context(hostility)))


@cache
@st.composite
def n_action(draw, hostility: float) -> Request:
    class_uid, kind = draw(st.sampled_from([(uids.BASIC_FILM_BOX, "film_box")] * 3
                                           + [(uids.BASIC_FILM_SESSION, "session")] * 2
                                           + [(uids.PRINTER, ""), (uids.PRINT_JOB, "job")]))
    action = draw(st.sampled_from([1] * 8 + [0, 2, 65535]))
    dataset = None if draw(st.integers(0, 6)) else _dataset(draw, [], hostility)
    return Request(wire.N_ACTION_RQ, class_uid, draw(_weighted_instance(kind, hostility)), dataset,
                   draw(_context(hostility)), action_type_id=action)


@cache
@st.composite
def n_get(draw, hostility: float) -> Request:
    class_uid, instance = draw(st.sampled_from([
        (uids.PRINTER, uids.PRINTER_INSTANCE),
        (uids.PRINTER_CONFIGURATION_RETRIEVAL, uids.PRINTER_CONFIGURATION_RETRIEVAL_INSTANCE),
        (uids.PRINT_JOB, Ref("job")), (uids.BASIC_FILM_BOX, Ref("film_box")),
        (uids.PRINTER, UNKNOWN_UID), (uids.PRINT_JOB, UNKNOWN_UID),
    ]))
    identifiers = draw(st.one_of(
        st.none(), st.just(b""),
        st.lists(st.sampled_from([0x21100010, 0x21100030, 0x00100010, 0x7FE00010, 0xFFFFFFFF]),
                 min_size=1, max_size=4).map(
            lambda tags: b"".join(wire.us(t >> 16, t & 0xFFFF) for t in tags)),
        st.binary(min_size=1, max_size=7),  # not a multiple of 4: an undecodable AT
    ))
    return Request(wire.N_GET_RQ, class_uid, instance, None, draw(_context(hostility)),
                   attribute_identifiers=identifiers)


@cache
@st.composite
def n_delete(draw, hostility: float) -> Request:
    class_uid, kind = draw(st.sampled_from([
        (uids.BASIC_FILM_BOX, "film_box"), (uids.BASIC_FILM_SESSION, "session"),
        (uids.PRESENTATION_LUT, "plut"), (uids.BASIC_GRAYSCALE_IMAGE_BOX, "image_box"),
        (uids.PRINTER, ""), (uids.PRINT_JOB, "job"),
    ]))
    return Request(wire.N_DELETE_RQ, class_uid, draw(_weighted_instance(kind, hostility)), None,
                   draw(_context(hostility)))


@cache
@st.composite
def wrong_class(draw, hostility: float) -> Request:
    """Any service on a SOP class UID the printer does not know, or on Verification."""
    service = draw(st.sampled_from(list(SERVICES)))
    class_uid = draw(st.sampled_from([uids.VERIFICATION, "1.2.840.10008.5.1.4.1.1.7",
                                      UNKNOWN_UID, "", "not.a.uid"]))
    dataset = (None if service in (wire.N_GET_RQ, wire.N_DELETE_RQ)
               else _dataset(draw, [], hostility))
    return Request(service, class_uid, draw(st.sampled_from([UNKNOWN_UID, None])), dataset,
                   draw(_context(hostility)),
                   action_type_id=1 if service == wire.N_ACTION_RQ else None)


SERVICES = (wire.N_CREATE_RQ, wire.N_SET_RQ, wire.N_ACTION_RQ, wire.N_GET_RQ, wire.N_DELETE_RQ)


@cache
def any_request(hostility: float) -> st.SearchStrategy[Request]:
    """One request of any kind; ``hostility`` is the chance each value is hostile (0..1)."""
    return st.one_of(
        film_session_create(hostility), film_session_set(hostility),
        film_box_create(hostility), film_box_set(hostility),
        image_box_set(hostility), image_box_set(hostility), annotation_box_set(hostility),
        presentation_lut_create(hostility), n_action(hostility), n_get(hostility),
        n_delete(hostility), wrong_class(hostility),
    )


@st.composite
def scripts(draw, max_requests: int = 6) -> list[Request]:
    """A request script: usually a valid-ish print prefix, then anything in any order.

    The prefix (Film Session, Film Box N-CREATE, maybe an Image Box N-SET) is
    itself fuzzed at a low rate, so most scripts reach the deeper states
    while some already fail at the first step.
    """
    prefix_hostility = draw(st.sampled_from([0.0, 0.0, 0.05]))
    hostility = draw(st.sampled_from([0.05, 0.2, 0.5]))
    script: list[Request] = []
    depth = draw(_roll({3: 6, 2: 2, 1: 1, 0: 1}))
    prefix = [film_session_create, film_box_create, image_box_set][:depth]
    for build in prefix:
        request = draw(build(prefix_hostility))
        script.append(request)
    script += draw(st.lists(any_request(hostility), min_size=1,
                            max_size=max(1, max_requests - len(script))))
    return script

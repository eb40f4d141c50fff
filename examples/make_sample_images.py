"""Write the small sample DICOM images of ``examples/images/`` (deterministic).

Run ``python examples/make_sample_images.py [--output DIR]``. Every run writes
the same files (fixed pixel patterns, seeded noise, UIDs derived from the file
names), all of patient ``FILMBOX^DEMO`` in one study:

* ``01_gray_wedge_8bit.dcm``: Secondary Capture, MONOCHROME2, 256 x 64, 8 bits;
  column c holds value c (a 256-step wedge).
* ``02_test_pattern_12bit.dcm``: Secondary Capture, MONOCHROME2, 256 x 256,
  12 of 16 bits; top half a ramp 0..4095 across, bottom half 11 bars at
  0 %, 10 % .. 100 % of 4095, each with a centre square 1 % (41) brighter
  (darker on the 100 % bar).
* ``03_ct_window.dcm``: CT, 128 x 128, signed 16 bits, Rescale Intercept
  -1024, windows soft tissue (40/400 HU) and bone (300/1500 HU); pixels of
  pydicom's bundled ``CT_small.dcm``.
* ``04_mr.dcm``: MR, 64 x 64, signed 16 bits; pixels of ``MR_small.dcm``.
* ``05_cr_monochrome1.dcm``: CR, MONOCHROME1, 256 x 256, 12 of 16 bits; a
  synthetic chest-like radiograph (low values print white).
* ``06_us_rgb.dcm``: US, RGB, 320 x 240, 8 bits per sample; a speckled
  sector with a red and a blue Doppler vessel and a color bar.
* ``07_multiframe_4x64.dcm``: Multi-frame Grayscale Byte Secondary Capture,
  4 frames of 64 x 64 (ramp across, ramp down, checkerboard, rings), frame
  k marked by k white squares in its top-left corner.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    UID,
    ComputedRadiographyImageStorage,
    CTImageStorage,
    ExplicitVRLittleEndian,
    MRImageStorage,
    MultiFrameGrayscaleByteSecondaryCaptureImageStorage,
    SecondaryCaptureImageStorage,
    UltrasoundImageStorage,
    generate_uid,
)

OUTPUT_DIR = Path(__file__).resolve().parent / "images"
PATIENT_NAME = "FILMBOX^DEMO"
PATIENT_ID = "FILMBOX-DEMO-0001"
STUDY_DATE = "20240115"
STUDY_TIME = "093000"
UID_SEED = "filmbox sample images"
NOISE_SEED = 20240115
IMPLEMENTATION_VERSION_NAME = "FILMBOX_SAMPLES"

CT_ATTRIBUTES = (
    "ImageType", "KVP", "SliceThickness", "PixelSpacing", "ImagePositionPatient",
    "ImageOrientationPatient", "SliceLocation", "RescaleIntercept", "RescaleSlope",
    "PositionReferenceIndicator",
)
MR_ATTRIBUTES = (
    "ImageType", "ScanningSequence", "SequenceVariant", "ScanOptions", "MRAcquisitionType",
    "RepetitionTime", "EchoTime", "EchoTrainLength", "MagneticFieldStrength", "SliceThickness",
    "PixelSpacing", "ImagePositionPatient", "ImageOrientationPatient", "SliceLocation",
    "PositionReferenceIndicator", "WindowCenter", "WindowWidth",
)


def _uid(*parts: str) -> UID:
    """A UID derived only from ``parts`` (same input, same UID)."""
    return generate_uid(entropy_srcs=[UID_SEED, *parts])


def _dataset(file_name: str, sop_class: str, modality: str, series_number: int,
             description: str) -> Dataset:
    """Patient, study, series, equipment, SOP common and file meta of one file."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = _uid("instance", file_name)
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = _uid("implementation")
    ds.file_meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.PatientName = PATIENT_NAME
    ds.PatientID = PATIENT_ID
    ds.PatientBirthDate = ""
    ds.PatientSex = "O"
    ds.StudyInstanceUID = _uid("study")
    ds.StudyDate = STUDY_DATE
    ds.StudyTime = STUDY_TIME
    ds.ReferringPhysicianName = ""
    ds.StudyID = "1"
    ds.AccessionNumber = ""
    ds.StudyDescription = "filmbox sample images"
    ds.Modality = modality
    ds.SeriesInstanceUID = _uid("series", file_name)
    ds.SeriesNumber = series_number
    ds.SeriesDescription = description
    ds.Manufacturer = "filmbox"
    ds.InstanceNumber = 1
    ds.ContentDate = STUDY_DATE
    ds.ContentTime = STUDY_TIME
    ds.PatientOrientation = ""
    return ds


def _secondary_capture(ds: Dataset) -> None:
    """SC Equipment and SC Image attributes of a synthetic image."""
    ds.ConversionType = "SYN"
    ds.BurnedInAnnotation = "NO"


def gray_wedge_8bit() -> Dataset:
    """256-step 8-bit wedge: column c holds value c."""
    ds = _dataset("01_gray_wedge_8bit", SecondaryCaptureImageStorage, "OT", 1,
                  "256-step gray wedge, 8 bits")
    _secondary_capture(ds)
    pixels = np.broadcast_to(np.arange(256, dtype=np.uint8), (64, 256)).copy()
    ds.set_pixel_data(pixels, "MONOCHROME2", 8, generate_instance_uid=False)
    return ds


def pattern_12bit() -> Dataset:
    """12-bit ramp over 11 bars of 0..100 % with 1 % contrast squares."""
    ds = _dataset("02_test_pattern_12bit", SecondaryCaptureImageStorage, "OT", 2,
                  "12-bit ramp and 10 % bars with 1 % squares")
    _secondary_capture(ds)
    full_scale = 4095
    columns = np.arange(256)
    ramp = np.rint(columns * full_scale / 255)
    bar_index = columns * 11 // 256
    bars = np.rint(bar_index * full_scale / 10)
    pixels = np.empty((256, 256))
    pixels[:128] = ramp
    pixels[128:] = bars
    bar_edges = (np.arange(12) * 256 + 10) // 11  # first column of each bar, then 256
    bar_middle = ((bar_edges[:-1] + bar_edges[1:]) // 2)[bar_index]
    in_square = (columns >= bar_middle - 5) & (columns < bar_middle + 5)
    one_percent = np.rint(full_scale / 100)
    pixels[187:197, in_square] += np.where(bars == full_scale, -one_percent, one_percent)[in_square]
    ds.set_pixel_data(np.clip(pixels, 0, full_scale).astype(np.uint16), "MONOCHROME2", 12,
                      generate_instance_uid=False)
    ds.WindowCenter = 2048
    ds.WindowWidth = 4096
    return ds


def _from_bundled(file_name: str, bundled: str, sop_class: str, modality: str,
                  series_number: int, description: str, keywords: tuple[str, ...]) -> Dataset:
    """A new dataset carrying the pixels and the ``keywords`` of a pydicom test file."""
    source = dcmread(get_testdata_file(bundled))
    ds = _dataset(file_name, sop_class, modality, series_number, description)
    ds.FrameOfReferenceUID = _uid("frame of reference", file_name)
    for keyword in keywords:
        if keyword in source:
            setattr(ds, keyword, source[keyword].value)
    ds.AcquisitionNumber = 1
    ds.set_pixel_data(source.pixel_array, source.PhotometricInterpretation, source.BitsStored,
                      generate_instance_uid=False)
    return ds


def ct_window() -> Dataset:
    """CT_small.dcm as signed 16-bit CT with Rescale Intercept -1024 and two windows."""
    ds = _from_bundled("03_ct_window", "CT_small.dcm", CTImageStorage, "CT", 3,
                       "CT, soft tissue and bone windows", CT_ATTRIBUTES)
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.WindowCenter = [40, 300]
    ds.WindowWidth = [400, 1500]
    ds.WindowCenterWidthExplanation = ["SOFT TISSUE", "BONE"]
    return ds


def mr() -> Dataset:
    """MR_small.dcm as a signed 16-bit MR image."""
    return _from_bundled("04_mr", "MR_small.dcm", MRImageStorage, "MR", 4,
                         "MR, small", MR_ATTRIBUTES)


def cr_monochrome1() -> Dataset:
    """Synthetic chest-like CR in MONOCHROME1: bone and soft tissue low, air high."""
    ds = _dataset("05_cr_monochrome1", ComputedRadiographyImageStorage, "CR", 5,
                  "CR, MONOCHROME1, synthetic chest")
    rows, columns = np.mgrid[0:256, 0:256] / 255.0 - 0.5  # -0.5..0.5, centre 0
    body = (columns / 0.42) ** 2 + (rows / 0.48) ** 2 < 1.0
    lungs = ((np.abs(columns) - 0.17) / 0.12) ** 2 + ((rows + 0.05) / 0.3) ** 2 < 1.0
    spine = (np.abs(columns) < 0.035) & body
    pixels = np.full((256, 256), 3800.0)  # direct exposure: black
    pixels[body] = 1800.0 + 600.0 * (1.0 - np.hypot(columns, rows))[body]
    pixels[lungs] = 3000.0 - 500.0 * np.abs(rows)[lungs]
    pixels[spine] = 700.0
    ds.set_pixel_data(np.clip(np.rint(pixels), 0, 4095).astype(np.uint16), "MONOCHROME1", 12,
                      generate_instance_uid=False)
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = "PA"
    ds.WindowCenter = 2048
    ds.WindowWidth = 4096
    return ds


def us_rgb() -> Dataset:
    """Synthetic RGB ultrasound: speckled sector, red and blue vessels, color bar."""
    ds = _dataset("06_us_rgb", UltrasoundImageStorage, "US", 6, "US, RGB, synthetic Doppler")
    height, width = 240, 320
    rows, columns = np.mgrid[0:height, 0:width].astype(float)
    radius = np.hypot(columns - width / 2, rows + 10)
    angle = np.degrees(np.arctan2(columns - width / 2, rows + 10))
    sector = (radius > 30) & (radius < 245) & (np.abs(angle) < 35)
    speckle = np.random.default_rng(NOISE_SEED).rayleigh(0.35, (height, width))
    gray = np.clip(speckle * 255 * np.exp(-radius / 400), 0, 255)
    cyst = np.hypot(columns - 150, rows - 140) < 18
    gray[cyst] *= 0.1
    gray[~sector] = 0
    rgb = np.repeat(np.rint(gray).astype(np.uint8)[..., np.newaxis], 3, axis=2)
    red_vessel = (np.abs(rows - 90 - 0.2 * (columns - 160)) < 5) & sector
    blue_vessel = (np.abs(rows - 180 + 0.1 * (columns - 160)) < 4) & sector
    rgb[red_vessel] = (220, 30, 20)
    rgb[blue_vessel] = (20, 60, 230)
    bar = np.linspace(1.0, 0.0, 100)[:, np.newaxis]  # top red, bottom blue
    rgb[70:170, 300:310] = np.rint(
        np.stack([255 * bar, 40 * np.ones_like(bar), 255 * (1 - bar)], axis=2)
    ).astype(np.uint8)
    ds.set_pixel_data(rgb, "RGB", 8, generate_instance_uid=False)
    ds.ImageType = ["DERIVED", "PRIMARY"]
    ds.LossyImageCompression = "00"
    return ds


def multiframe() -> Dataset:
    """Four 64 x 64 8-bit frames, frame k marked by k white squares."""
    ds = _dataset("07_multiframe_4x64", MultiFrameGrayscaleByteSecondaryCaptureImageStorage,
                  "OT", 7, "multi-frame, 4 test frames")
    _secondary_capture(ds)
    rows, columns = np.mgrid[0:64, 0:64]
    frames = np.stack([
        columns * 4,
        rows * 4,
        np.where((rows // 8 + columns // 8) % 2 == 0, 230, 25),
        128 + 100 * np.cos(np.hypot(rows - 31.5, columns - 31.5) / 3),
    ]).astype(np.uint8)
    for index, frame in enumerate(frames):
        for square in range(index + 1):
            frame[2:6, 2 + 6 * square:6 + 6 * square] = 255
    ds.set_pixel_data(frames, "MONOCHROME2", 8, generate_instance_uid=False)
    ds.FrameLabelVector = ["RAMP ACROSS", "RAMP DOWN", "CHECKERBOARD", "RINGS"]
    ds.FrameIncrementPointer = 0x00182002  # Frame Label Vector
    ds.PresentationLUTShape = "IDENTITY"
    return ds


SAMPLES: dict[str, Callable[[], Dataset]] = {
    "01_gray_wedge_8bit.dcm": gray_wedge_8bit,
    "02_test_pattern_12bit.dcm": pattern_12bit,
    "03_ct_window.dcm": ct_window,
    "04_mr.dcm": mr,
    "05_cr_monochrome1.dcm": cr_monochrome1,
    "06_us_rgb.dcm": us_rgb,
    "07_multiframe_4x64.dcm": multiframe,
}


def write_samples(output_dir: Path) -> list[Path]:
    """Write every sample into ``output_dir`` (created if missing); return the paths."""
    output_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for file_name, build in SAMPLES.items():
        path = output_dir / file_name
        build().save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT_DIR,
                        help=f"directory to write into (default {OUTPUT_DIR})")
    for path in write_samples(parser.parse_args().output):
        print(f"{path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()

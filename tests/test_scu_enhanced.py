"""Enhanced multi-frame CT and MR: per-frame rescale and windows from the functional groups.

highdicom builds Legacy Converted Enhanced CT and MR images from classic
slices whose Rescale Slope/Intercept and Window Center/Width differ, so that
every frame carries its own Pixel Value Transformation and Frame VOI LUT.
print-scu prints them on DCMTK's dcmprscp; the stored P-Values are compared
with values computed here from the slope, intercept and window read back
from the file's functional groups, with PS3.3 C.11.2.1.2.1 written out:
y = ((x − (c − 0.5)) / (w − 1) + 0.5) · 255, 0 below the window, 255 above.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import highdicom as hd
import numpy as np
import pytest
from dcmtk_peer import DcmprscpServer, read_stored_films
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage, generate_uid

from print_scu import cli
from print_scu.config import adhoc_printer
from print_scu.options import PrintOptions
from print_scu.prepare import prepare_files

ROWS, COLUMNS = 8, 10
#: Per slice: rescale slope, intercept, window center, width (units after rescale).
SLICES = [(1.0, -1024.0, 40.0, 400.0), (2.0, -500.0, 100.0, 800.0), (0.5, -200.0, 300.0, 600.0)]
CONVERTERS = {"CT": (CTImageStorage, hd.legacy.LegacyConvertedEnhancedCTImage),
              "MR": (MRImageStorage, hd.legacy.LegacyConvertedEnhancedMRImage)}


def linear_window(x: np.ndarray, center: float, width: float, y_max: int = 255) -> np.ndarray:
    """PS3.3 C.11.2.1.2.1, y_min = 0 (not rounded)."""
    y = ((x - (center - 0.5)) / (width - 1) + 0.5) * y_max
    y = np.where(x <= center - 0.5 - (width - 1) / 2, 0, y)
    return np.where(x > center - 0.5 + (width - 1) / 2, y_max, y)


def classic_slice(modality: str, index: int, study: str, series: str,
                  frame_of_reference: str) -> Dataset:
    """Slice ``index`` of a classic CT or MR series: stored values 0..2370 in steps of 30,
    plus 100 per slice, with the slice's rescale and window (each reaching below and
    above it)."""
    slope, intercept, center, width = SLICES[index]
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = CONVERTERS[modality][0]
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
    ds.FrameOfReferenceUID = frame_of_reference
    ds.Modality = modality
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = "ENHANCED^TEST", "1", "", ""
    ds.StudyDate, ds.StudyTime, ds.StudyID = "20250101", "120000", "1"
    ds.ContentDate, ds.ContentTime = "20250101", "120000"
    ds.AccessionNumber, ds.ReferringPhysicianName, ds.Manufacturer = "", "", "filmbox"
    ds.SeriesNumber, ds.InstanceNumber = 1, index + 1
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.ImagePositionPatient = [0.0, 0.0, float(index)]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing, ds.SliceThickness = [0.5, 0.75], 1.0
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = ROWS, COLUMNS
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    stored = np.arange(ROWS * COLUMNS, dtype=np.uint16).reshape(ROWS, COLUMNS) * 30 + 100 * index
    ds.PixelData = stored.tobytes()
    ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    ds.RescaleType = "HU" if modality == "CT" else "US"
    ds.WindowCenter, ds.WindowWidth = center, width
    return ds


def write_enhanced(modality: str, path: Path) -> Path:
    study, series, frame_of_reference = generate_uid(), generate_uid(), generate_uid()
    slices = [classic_slice(modality, i, study, series, frame_of_reference)
              for i in range(len(SLICES))]
    with warnings.catch_warnings():  # highdicom notes attributes it leaves unconverted
        warnings.simplefilter("ignore")
        enhanced = CONVERTERS[modality][1](slices, series_instance_uid=generate_uid(),
                                           series_number=2, sop_instance_uid=generate_uid(),
                                           instance_number=1)
    enhanced.save_as(path, enforce_file_format=True)
    return path


def expected_p_values(path: Path) -> list[np.ndarray]:
    """Each frame's P-Values from its stored values and its own functional groups."""
    ds = dcmread(path)
    frames = []
    for index, group in enumerate(ds.PerFrameFunctionalGroupsSequence):
        rescale = group.PixelValueTransformationSequence[0]
        voi = group.FrameVOILUTSequence[0]
        x = (ds.pixel_array[index].astype(np.float64) * float(rescale.RescaleSlope)
             + float(rescale.RescaleIntercept))
        frames.append(linear_window(x, float(voi.WindowCenter), float(voi.WindowWidth)))
    return frames


@pytest.mark.parametrize("modality", ["CT", "MR"])
def test_enhanced_frames_print_with_their_own_rescale_and_window(
        dcmprscp: DcmprscpServer, tmp_path: Path, modality: str) -> None:
    path = write_enhanced(modality, tmp_path / f"enhanced_{modality}.dcm")
    ds = dcmread(path)
    assert ds.SOPClassUID.name == f"Legacy Converted Enhanced {modality} Image Storage"
    windows = {(float(g.FrameVOILUTSequence[0].WindowCenter),
                float(g.PixelValueTransformationSequence[0].RescaleSlope))
               for g in ds.PerFrameFunctionalGroupsSequence}
    assert len(windows) == 3  # every frame its own window and slope
    host, port, aetitle, storage = dcmprscp.endpoint

    status = cli.main(["print", "--spool", str(tmp_path / "spool"), "--host", host,
                       "--port", str(port), "--called-ae", aetitle, "--format", "2x2",
                       str(path)])

    assert status == 0
    [film] = read_stored_films(storage)
    boxes = [box for box in film.image_boxes if box.hardcopy is not None]
    expected = expected_p_values(path)
    assert len(boxes) == len(expected) == 3
    for box, frame in zip(boxes, expected, strict=True):
        assert frame.min() == 0 and frame.max() == 255  # values below and above the window
        assert np.abs(box.pixels.astype(np.float64) - frame).max() <= 1


def test_pixel_spacing_comes_from_the_pixel_measures_group(tmp_path: Path) -> None:
    path = write_enhanced("CT", tmp_path / "enhanced.dcm")
    images = prepare_files([path], PrintOptions(), adhoc_printer("127.0.0.1", 104, "GRAY8"))
    assert [image.pixel_spacing_mm for image in images] == [(0.5, 0.75)] * 3
    assert images[0].fields["Modality"] == "CT"


def test_real_world_values_are_windowed_where_there_is_no_rescale(tmp_path: Path) -> None:
    """An Enhanced MR whose frames map stored values to a quantity only by Real World Value
    Mapping (slope 0.01, intercept 5): a user window 8,6 is in that quantity (5..11 -> 0..255),
    and without one the automatic window spans the frames' real-world min..max."""
    path = write_enhanced("MR", tmp_path / "enhanced.dcm")
    ds = dcmread(path)
    for group in ds.PerFrameFunctionalGroupsSequence:
        del group.PixelValueTransformationSequence
        del group.FrameVOILUTSequence
    mapping = Dataset()
    mapping.RealWorldValueFirstValueMapped = 0
    mapping.RealWorldValueLastValueMapped = 65535
    mapping.RealWorldValueSlope = 0.01
    mapping.RealWorldValueIntercept = 5.0
    mapping.LUTExplanation = "test quantity"
    mapping.LUTLabel = "QUANTITY"
    ds.SharedFunctionalGroupsSequence[0].RealWorldValueMappingSequence = Sequence([mapping])
    ds.save_as(path)
    stored = ds.pixel_array.astype(np.float64)
    real_world = stored * 0.01 + 5.0
    printer = adhoc_printer("127.0.0.1", 104, "GRAY8")

    windowed = prepare_files([path], PrintOptions(window=(8.0, 6.0)), printer)
    for image, values in zip(windowed, real_world, strict=True):
        assert np.abs(image.pixels - linear_window(values, 8.0, 6.0)).max() <= 1

    automatic = prepare_files([path], PrintOptions(), printer)
    low, high = real_world.min(), real_world.max()
    for image, values in zip(automatic, real_world, strict=True):
        assert np.abs(image.pixels - (values - low) / (high - low) * 255).max() <= 1

"""Annotation templates: {Keyword} from the film's first image, {page}/{pages}, {date} {time}."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from scp_harness import film_metadata, running_printer, wait_for_films
from test_scu_cli import printer_args
from test_scu_true_size import write_cr

from print_scu import cli
from print_scu.annotation_template import TemplateError, check_template, render_template
from print_scu.options import OptionError, PrintOptions
from print_scu.queue import JobQueue

SUBMITTED = datetime(2026, 3, 4, 5, 6, 7)
FIELDS = {"PatientName": "Doe^Jane", "PatientID": "ID7", "StudyDate": "20260102",
          "ImageType": "ORIGINAL\\PRIMARY"}


@pytest.mark.parametrize(("template", "expected"), [
    ("{PatientName} {PatientID} {StudyDate} {page}/{pages}", "Doe^Jane ID7 20260102 2/5"),
    ("{{PatientID}} = {PatientID}", "{PatientID} = ID7"),
    ("printed {date} {time}", "printed 2026-03-04 05:06"),
    ("{InstitutionName}|", "|"),  # a keyword the image lacks: empty
    ("plain text", "plain text"),
    ("{ImageType}", "ORIGINAL PRIMARY"),  # no backslash: Text String is one value
])
def test_render_template(template: str, expected: str) -> None:
    assert render_template(template, FIELDS, 2, 5, SUBMITTED) == expected


@pytest.mark.parametrize(("template", "why"), [
    ("{PatientNmae}", r"\{PatientNmae\} is neither a DICOM keyword"),
    ("{}", r"\{\} is neither a DICOM keyword"),
    ("{page:>3}", r"field \{page\} takes no format spec or conversion"),
    ("{PatientID!r}", r"field \{PatientID\} takes no format spec or conversion"),
    ("{PatientID", r"expected '\}' before end of string \(write \{\{ and \}\} for literal"),
])
def test_bad_templates_are_refused(template: str, why: str) -> None:
    with pytest.raises(TemplateError, match=rf"^annotation template {template!r}: {why}"):
        check_template(template)
    with pytest.raises(OptionError, match=rf"^annotations: annotation template .*{why}"):
        PrintOptions(annotations=[template])


def test_templates_are_filled_in_per_film_on_print_scp(tmp_path: Path) -> None:
    images = [write_cr(tmp_path / f"cr{i}.dcm", rows=40, columns=60) for i in range(3)]
    out = tmp_path / "films"
    with running_printer(out) as server:
        status = cli.main(["print", "--spool", str(tmp_path / "spool"), *printer_args(server),
                           "--format", "1x2", "--annotation", "{PatientID} {page}/{pages}",
                           "--annotation", "{{{StudyDate}}}", *map(str, images)])
        assert status == 0
        jsons = wait_for_films(out, 2)
    texts = [[box["received"]["TextString"] for box in film_metadata(path)["annotation_boxes"]
              if "TextString" in box["received"]] for path in jsons]
    assert sorted(texts) == [["CR42 1/2", "{20260102}"], ["CR42 2/2", "{20260102}"]]


def test_the_queue_keeps_each_films_texts(tmp_path: Path) -> None:
    images = [write_cr(tmp_path / f"cr{i}.dcm", rows=40, columns=60) for i in range(2)]
    spool = tmp_path / "spool"
    status = cli.main(["submit", "--spool", str(spool), "--host", "127.0.0.1", "--port", "104",
                       "--called-ae", "NOWHERE", "--annotation", "page {page} of {pages}",
                       *map(str, images)])
    assert status == 0
    queue = JobQueue(spool)
    [job] = queue.jobs()
    assert [queue.load_annotations(job.id, i) for i in range(2)] == [["page 1 of 2"],
                                                                   ["page 2 of 2"]]


def test_an_unknown_keyword_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    image = write_cr(tmp_path / "cr.dcm", rows=40, columns=60)
    status = cli.main(["submit", "--spool", str(tmp_path / "spool"), "--host", "127.0.0.1",
                       "--port", "104", "--called-ae", "NOWHERE", "--annotation",
                       "{PatientsName}", str(image)])
    error = capsys.readouterr().err
    assert status == 2 and error.count("\n") == 1 and "Traceback" not in error
    assert "'{PatientsName}'" in error and "neither a DICOM keyword" in error

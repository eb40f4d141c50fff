"""Annotation templates: per-film text from the film's first image and its page number.

A template is text with fields in braces, e.g. ``"{PatientName} {StudyDate}
{page}/{pages}"``:

* ``{Keyword}``: a DICOM attribute keyword, the value of that attribute in the
  film's first image (its ``fields``), several values separated by spaces;
  empty if the image has none;
* ``{page}``, ``{pages}``: the film's number (from 1) and the number of films
  of the submission;
* ``{date}``, ``{time}``: when the job was submitted (YYYY-MM-DD, HH:MM).

``{{`` and ``}}`` stand for literal braces. Fields take no format spec or
conversion. Any other name is refused when the template is checked.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import datetime
from enum import Enum

from pydicom.datadict import tag_for_keyword

__all__ = ["PageField", "TemplateError", "check_template", "render_template"]


class TemplateError(ValueError):
    """A template that cannot be filled in; the message names the template and why."""


class PageField(str, Enum):
    """Template fields that come from the job rather than from the image."""

    PAGE = "page"
    PAGES = "pages"
    DATE = "date"
    TIME = "time"


_FORMATTER = string.Formatter()


def check_template(template: str) -> list[str]:
    """The field names of ``template`` in order; TemplateError for a malformed
    template or a name that is neither a DICOM keyword nor a :class:`PageField`."""
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise TemplateError(f"annotation template {template!r}: {exc} "
                            "(write {{ and }} for literal braces)") from None
    names = []
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if spec or conversion:
            raise TemplateError(f"annotation template {template!r}: field {{{name}}} takes "
                                "no format spec or conversion")
        if name not in _PAGE_FIELDS and not _is_keyword(name):
            raise TemplateError(
                f"annotation template {template!r}: {{{name}}} is neither a DICOM keyword "
                f"(e.g. PatientName, StudyDate) nor one of "
                f"{', '.join('{' + f + '}' for f in _PAGE_FIELDS)}")
        names.append(name)
    return names


_PAGE_FIELDS = tuple(f.value for f in PageField)


def _is_keyword(name: str) -> bool:
    """True for a DICOM attribute keyword (pydicom maps even "" to a tag)."""
    return name.isidentifier() and tag_for_keyword(name) is not None


def render_template(template: str, fields: Mapping[str, str], page: int, pages: int,
                    submitted: datetime) -> str:
    """``template`` filled in for film ``page`` of ``pages`` (1-based).

    ``fields`` are the first image's text attributes by keyword; a keyword
    it lacks gives empty text. TemplateError as :func:`check_template`.
    """
    names = check_template(template)
    values = {name: fields.get(name, "").replace("\\", " ") for name in names}
    values.update({PageField.PAGE.value: str(page), PageField.PAGES.value: str(pages),
                   PageField.DATE.value: submitted.strftime("%Y-%m-%d"),
                   PageField.TIME.value: submitted.strftime("%H:%M")})
    return template.format_map(values)

"""Names of a Print Job's output files: its films ``<job stem>-NN`` and its job document
``<job stem>.pdf``."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["film_name", "job_document_name"]


def film_name(job_stem: str, number: int) -> str:
    """The stem of film ``number`` (1-based) of the job whose stem is ``job_stem``."""
    return f"{job_stem}-{number:02d}"


def job_document_name(film_names: Sequence[str]) -> str:
    """The job document's stem: the films' stem without their ``-NN`` number."""
    return film_names[0].rsplit("-", 1)[0]

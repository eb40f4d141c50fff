"""A film as the printer wrote it: its files and the facts sinks match on."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from print_scp.forward.sinks import FilmFacts
from print_scp.output.film_names import job_document_name

__all__ = ["DeliveryError", "WrittenFilm", "film_facts"]


class DeliveryError(Exception):
    """A delivery that did not happen; ``permanent``: retrying cannot help."""

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


def film_facts(metadata: dict[str, Any]) -> FilmFacts:
    """What a sink's ``match`` looks at, from a film's metadata (its JSON)."""
    association = metadata.get("association", {})
    box = metadata.get("film_box", {}).get("in_force", {})
    session = metadata.get("film_session", {}).get("in_force", {})
    return {"calling_ae": str(association.get("calling_ae", "")),
            "called_ae": str(association.get("called_ae", "")),
            "film_size": str(box.get("film_size_id", "")),
            "display_format": str(box.get("image_display_format", "")),
            "medium": str(session.get("medium_type", ""))}


@dataclass(frozen=True)
class WrittenFilm:
    """Film ``name`` in ``directory``: its four files, its job's document, its JSON."""

    directory: Path
    name: str

    def path(self, suffix: str) -> Path:
        return self.directory / f"{self.name}{suffix}"

    @property
    def job_pdf(self) -> Path:
        return self.directory / f"{job_document_name([self.name])}.pdf"

    def document(self) -> dict[str, Any]:
        """The film's JSON; DeliveryError (permanent) if it is gone or unreadable."""
        try:
            document = json.loads(self.path(".json").read_bytes())
        except (OSError, ValueError) as exc:
            raise DeliveryError(f"film {self.name}: its JSON cannot be read ({exc})",
                                permanent=True) from None
        if not isinstance(document, dict) or "film" not in document:
            raise DeliveryError(f"film {self.name}: {self.name}.json is not a film's JSON",
                                permanent=True)
        return document

    def placeholders(self) -> dict[str, str]:
        """The values of a command sink's placeholders (PLACEHOLDERS): paths and the name."""
        return {"{pdf}": str(self.path(".pdf")), "{png}": str(self.path(".png")),
                "{density_png}": str(self.path(".density.png")),
                "{json}": str(self.path(".json")), "{job_pdf}": str(self.job_pdf),
                "{name}": self.name}

"""The web console of the virtual printer: gallery, film inspector, printer control, metrics.

``film_index`` keeps an SQLite index of the films, ``app`` is the Starlette
application, and ``server`` runs it with uvicorn on a thread of the printer
(or of ``print-scp web``), never on a DIMSE thread.
"""

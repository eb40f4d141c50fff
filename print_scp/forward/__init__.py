"""Forwarding: printed films to PACS (C-STORE), film printers, paper (CUPS) and site
programs, durably.

``sinks`` reads the profile's ``[[forward]]`` entries, ``outbox`` keeps every
delivery in SQLite, ``forwarder`` runs them on their own threads with
retries, and ``store``, ``film_printer`` (through print-scu's queue) and
``programs`` deliver.
"""

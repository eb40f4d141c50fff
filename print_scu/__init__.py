"""The print client: DIMSE session driver (the queueing client and CLI are issue #3)."""

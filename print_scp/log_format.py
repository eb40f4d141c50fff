"""The format of print-scp's log lines: the server's, its web console's and its render
processes', which write to the same standard error."""

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

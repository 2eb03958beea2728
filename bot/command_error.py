"""The command line's one error type: a failure reported on standard error with exit status 1."""


class CommandError(Exception):
    """A failure to report on standard error, with exit status 1."""

"""Errors a user can fix. The CLI turns each into one line on stderr and exit code 2."""


class UsageError(Exception):
    """A bad option value, an impossible request, an implementation that cannot be used."""

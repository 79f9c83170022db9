"""Errors a user can fix. The CLI turns each into one line on stderr and exit code 2.

A message names options with :func:`opt`, so that each face spells them its own way: the
command line as ``--max-memory 2GiB``, the library as ``max_memory=2GiB``.
"""

from __future__ import annotations

import re

_OPTION = re.compile("\u27ea([a-z_]+)(?:=([^\u27eb]*))?\u27eb")


def opt(name: str, value: object = None) -> str:
    """An option (and a value for it) inside a :class:`UsageError` message."""
    return f"\u27ea{name}{'' if value is None else f'={value}'}\u27eb"


class UsageError(Exception):
    """A bad option value, an impossible request, an implementation that cannot be used."""

    def __str__(self) -> str:
        return _OPTION.sub(lambda m: m[1] + (f"={m[2]}" if m[2] is not None else ""), super().__str__())

    def on_command_line(self) -> str:
        """The message with options as flags: ``--max-memory 2GiB``."""
        flag = lambda m: "--" + m[1].replace("_", "-") + (f" {m[2]}" if m[2] is not None else "")  # noqa: E731
        return _OPTION.sub(flag, super().__str__())

"""Report files written whole or not at all.

A report is written to a temporary file beside its target and renamed over it, so that
an interrupt, a full disk or a crash leaves either the old file or the complete new one,
never a truncated one. A target that is not a regular file (``/dev/stdout``, a pipe, a
device) cannot be renamed over: it is written directly, once the report is complete.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from smgrad.errors import UsageError


def check_writable(path: str, option: str) -> None:
    """Refuse, before any work, a report path that can never be written."""
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"cannot write {option} {path!r}: it is a directory")
    if _special(target):
        if not os.access(target, os.W_OK):
            raise UsageError(f"cannot write {option} {path!r}: permission denied")
        return
    folder = Path(os.path.realpath(target)).parent
    if not folder.is_dir():
        raise UsageError(f"cannot write {option} {path!r}: no such folder {str(target.parent)!r}")
    try:  # the only sure test: make (and remove) the temporary file the report will need
        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise UsageError(
            f"cannot write {option} {path!r}: cannot create a file in {str(folder)!r} ({e.strerror})"
        ) from None


def write(path: str, text: str, option: str) -> None:
    """Write ``text`` to ``path`` atomically; :class:`UsageError` naming the file and
    the operating system's reason if that fails (the old file is then left as it was).
    A symbolic link is followed: the file it points to is replaced, the link kept."""
    try:
        if _special(Path(path)):
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
            return
        _replace(Path(os.path.realpath(path)), text)
    except OSError as e:
        raise UsageError(f"cannot write {option} {path!r}: {e.strerror or e}") from None


def _special(target: Path) -> bool:
    """An existing target that is not a regular file (a device, a pipe)."""
    try:
        return not stat.S_ISREG(target.stat().st_mode)
    except OSError:
        return False


def _replace(target: Path, text: str) -> None:
    mode = _mode_for(target)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _mode_for(target: Path) -> int:
    """The existing file's permissions, or those a new file gets under the umask."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask

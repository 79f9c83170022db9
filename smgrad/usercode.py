"""Running code under test: whatever it does, it does not end smgrad.

An implementation may raise anything, ``SystemExit`` and ``KeyboardInterrupt`` included,
hang, or write to file descriptor 1. :func:`call` turns every such outcome into an
:class:`ImplementationError` (an ``Exception``, so a check records it as a failure) with
the user's own ``file:line``; :func:`interrupts` tells a real Ctrl-C or SIGTERM (raised
as :class:`Interrupted`) from a ``KeyboardInterrupt`` the code raised itself; and
:func:`stdout_to_stderr` keeps whatever it prints off smgrad's standard output.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

# smgrad's own frames are those of this package, wherever it is installed (a clone in a
# folder named smgrad/ holds the user's examples too).
_PACKAGE = Path(__file__).resolve().parent


class ImplementationError(Exception):
    """Code under test raised, exited, hung or returned something unusable."""


class Overran(ImplementationError):
    """Code under test did not return within its time limit."""


class Interrupted(KeyboardInterrupt):
    """A signal from outside (Ctrl-C, SIGTERM) ended the run; ``code`` is the exit code."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.code = 128 + signum


class _TimedOut(BaseException):
    """Raised into code under test when it overruns; a ``BaseException`` so that the
    code's own ``except Exception`` does not swallow it."""


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def interrupts(signals: tuple[int, ...] = (signal.SIGINT,)) -> Iterator[None]:
    """While inside, the given signals raise :class:`Interrupted`, so that any other
    ``KeyboardInterrupt`` is known to come from the code under test, and the timer
    signal of :func:`call`'s time limit is handled (installed once, not per call).
    Outside the main thread no signal can arrive, and nothing is installed."""
    if not _main_thread():
        yield
        return

    def handler(signum, frame):
        raise Interrupted(signum)

    global _installed
    previous = {s: signal.signal(s, handler) for s in signals}
    if hasattr(signal, "setitimer") and not _timer_taken():
        previous[signal.SIGALRM] = signal.signal(signal.SIGALRM, _overrun)
        _installed = True
    try:
        yield
    finally:
        _installed = False
        for s, h in previous.items():
            signal.signal(s, h)


def call(name: str, f: Callable, *args, timeout: float = 0.0):
    """``f(*args)``, or :class:`ImplementationError` naming ``name`` and what went wrong
    for anything it raises but a real interrupt. ``timeout`` seconds (0: none) is
    enforced with a timer signal in the main thread; elsewhere it cannot be, and is not.
    What ``f`` prints goes to standard error. (No context managers here: this wraps
    every call of the code under test, tens of thousands in a run.)"""
    stdout, sys.stdout = sys.stdout, sys.stderr
    os_exit, os._exit = os._exit, _no_exit  # os._exit(0) would end the run, passing
    timer = _start(timeout)
    try:
        return f(*args)
    except Interrupted:
        raise
    except _TimedOut:
        raise Overran(f"{name} did not return within {timeout:g} s (timeout)") from None
    except ImplementationError:
        raise
    except BaseException as e:
        raise ImplementationError(f"{name} raised {describe(e)}") from e
    finally:
        _stop(timer)
        os._exit = os_exit
        sys.stdout = stdout


def _no_exit(status=0):
    """``os._exit`` while code under test runs: an exit smgrad did not ask for fails the
    call instead of ending the process (with status 0, a run that checked nothing)."""
    raise SystemExit(f"os._exit({status})")


_armed = False  # a deadline is running: the timer signal is for the code under test
_installed = False  # interrupts() has put _overrun on the timer signal for a whole run
_NO_TIMER, _OURS = object(), object()


def _timer_taken() -> bool:
    """Someone else's timer is running (pytest-timeout's, say): it is left alone, and
    no time limit of ours is set while it runs."""
    return signal.getitimer(signal.ITIMER_REAL)[0] > 0 and signal.getsignal(signal.SIGALRM) is not _overrun


def _overrun(signum, frame):
    # Only in the code under test: the timer repeats (a timeout swallowed there is raised
    # again), and a repeat that lands in smgrad's own handling of the first must not.
    if _armed and not (frame is not None and _is_own(frame.f_code.co_filename)):
        raise _TimedOut


def _start(seconds: float):
    """Arm the timer for ``seconds``; what :func:`_stop` needs to undo it."""
    global _armed
    if not seconds or not _main_thread():
        return _NO_TIMER
    if _installed:
        previous = _OURS
    elif not hasattr(signal, "setitimer") or _timer_taken():
        return _NO_TIMER
    else:  # outside a run's interrupts(): the handler goes on for this call only
        previous = signal.signal(signal.SIGALRM, _overrun)
    _armed = True
    # Then again every tenth of that: a timeout raised where Python swallows it (a garbage
    # collector callback, a bare except in the code) must not leave the call hanging.
    signal.setitimer(signal.ITIMER_REAL, seconds, max(0.05, seconds / 10))
    return previous


def _stop(previous) -> None:
    global _armed
    if previous is _NO_TIMER:
        return
    _armed = False
    signal.setitimer(signal.ITIMER_REAL, 0)
    if previous is not _OURS:
        signal.signal(signal.SIGALRM, previous)


def describe(e: BaseException, own: bool = False) -> str:
    """``Type: message (file.py:12)``, naming the innermost frame outside smgrad (with
    ``own``, the innermost frame of all)."""
    frames = [f for f in traceback.extract_tb(e.__traceback__) if own or not _is_own(f.filename)]
    where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    text = str(e).strip() or (repr(e.code) if isinstance(e, SystemExit) else "")
    message = text.splitlines()[0] if text else ""
    return f"{type(e).__name__}{': ' + message if message else ''}{where}"


def _is_own(filename: str) -> bool:
    """smgrad's frames, and the import machinery's (a frozen module is nobody's line)."""
    if filename.startswith("<frozen "):
        return True
    try:
        return Path(filename).resolve().is_relative_to(_PACKAGE)
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """While inside, everything written to standard output, by Python (``print``,
    ``sys.__stdout__``) or below it (``os.write(1, ...)``, a C library's ``printf``),
    goes to standard error, so that a report on stdout stays whole."""
    _flush_all()
    try:
        saved = os.dup(1)
    except OSError:  # no descriptor 1 at all: nothing to protect
        with contextlib.redirect_stdout(sys.stderr):
            yield
        return
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        _flush_all()
        os.dup2(saved, 1)
        os.close(saved)


def _flush_all() -> None:
    """Flush what is buffered for descriptor 1 now, before it is pointed elsewhere."""
    for stream in (sys.stdout, sys.__stdout__, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).fflush(None)

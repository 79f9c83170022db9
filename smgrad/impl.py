"""Implementations under test, seen through one interface.

Checks speak to an :class:`Implementation`: functions of rows ``(N, n)`` and dense
targets ``(N, n)``, any of which may be missing. The built-in reference is one;
:func:`adapt` presents a user's functions the same way, whatever they take (a batch or
one vector, dense targets or class ids), and watches every call: the shape and dtype of
what comes back, and whether the arrays passed in were changed.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from smgrad import analytic, functions
from smgrad.backend import is_complex, xp
from smgrad.errors import UsageError
from smgrad.usercode import ImplementationError, Overran, call, describe

__all__ = ["Implementation", "ImplementationError", "as_implementation", "describe", "load", "reference"]

NAMES = ("softmax", "softmax_jacobian", "softmax_backward", "cross_entropy", "cross_entropy_grad")


@dataclass(frozen=True)
class Implementation:
    """The protocol functions, on rows. Missing ones are None.

    ``row_losses(X, T) -> (N,)`` is the per-row loss behind ``cross_entropy``, which is
    what gets differentiated numerically (rows are independent, the reduction is not);
    ``row_gradients(X, T) -> (N, n)`` likewise the gradient of each row's own loss.
    ``softmax_jacobian_block(X, rows, cols)``, where present, gives part of the Jacobian
    so that a large one is never formed whole. ``notes`` collects, per function name,
    what was seen wrong in its calls (an input changed in place, a wrong dtype).
    """

    name: str
    softmax: Callable | None = None
    softmax_jacobian: Callable | None = None
    softmax_backward: Callable | None = None
    cross_entropy: Callable | None = None
    cross_entropy_grad: Callable | None = None
    row_losses: Callable | None = None
    row_gradients: Callable | None = None
    softmax_jacobian_block: Callable | None = None
    is_reference: bool = False
    notes: dict[str, list[str]] = field(default_factory=dict)


def reference(reduction: str = "mean") -> Implementation:
    """smgrad's own functions (the seed's formulas) as an implementation."""
    return Implementation(
        name="reference",
        softmax=functions.softmax,
        softmax_jacobian=analytic.softmax_jacobian,
        softmax_backward=analytic.softmax_vjp,
        cross_entropy=lambda x, t: functions.cross_entropy(x, t, reduction),
        cross_entropy_grad=lambda x, t: analytic.cross_entropy_grad(x, t, reduction),
        row_losses=lambda x, t: functions.cross_entropy(x, t, "none"),
        row_gradients=lambda x, t: analytic.cross_entropy_grad(x, t, "none"),
        softmax_jacobian_block=analytic.softmax_jacobian_block,
        is_reference=True,
    )


# -- loading -----------------------------------------------------------------------------


def load(spec: str, timeout: float = 0.0) -> dict[str, Callable]:
    """The protocol functions named by ``spec``: ``path/to/file.py``, ``package.module``,
    either followed by ``:object`` (a class, instance, namespace or mapping). Importing
    may take ``timeout`` seconds (0: no limit).

    Raises :class:`UsageError` when nothing usable can be had from ``spec``: whatever the
    import raises (``SystemExit`` too) is said in one line with its file and line.
    """
    target, _, attribute = spec.partition(":")
    if not target:
        raise UsageError(f"--impl {spec!r} names no file or module; give path/to/file.py or package.module")
    load_from = _import_file if _looks_like_path(target) else _import_module
    module = load_from(spec, target, timeout)
    holder = _attribute(spec, module, attribute, timeout) if attribute else module
    found = _functions(holder)
    if not found:
        raise UsageError(f"--impl {spec!r} defines none of {', '.join(NAMES)}")
    return found


def _importing(spec: str, target: str, run: Callable, timeout: float):
    """``run()``, with anything it raises (but a real interrupt) as a one-line UsageError."""
    try:
        return call("importing it", run, timeout=timeout)
    except ImplementationError as e:
        missing = e.__cause__
        if isinstance(missing, ModuleNotFoundError) and missing.name and target.startswith(missing.name):
            raise UsageError(
                f"--impl {spec!r}: no module named {missing.name!r} (a file needs its .py ending)"
            ) from None
        raise UsageError(f"--impl {spec!r}: {e}") from None


def _looks_like_path(target: str) -> bool:
    return target.endswith(".py") or "/" in target or "\\" in target or Path(target).is_file()


def _import_file(spec: str, target: str, timeout: float):
    path = Path(target)
    if path.is_dir():
        raise UsageError(f"--impl {spec!r}: {target!r} is a directory; name a .py file in it, or a package.module")
    if not path.is_file():
        raise UsageError(f"--impl {spec!r}: no such file {target!r}")
    name = f"smgrad_impl_{abs(hash(str(path.resolve())))}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise UsageError(f"--impl {spec!r}: {target!r} is not a Python file")
    module = importlib.util.module_from_spec(module_spec)
    # Its own imports of files beside it work, as they would for `python file.py`.
    sys.path.insert(0, str(path.resolve().parent))
    try:
        _importing(spec, target, lambda: module_spec.loader.exec_module(module), timeout)
    finally:
        sys.path.remove(str(path.resolve().parent))
    return module


def _import_module(spec: str, target: str, timeout: float):
    sys.path.insert(0, str(Path.cwd()))  # as `python -m` would
    try:
        return _importing(spec, target, lambda: importlib.import_module(target), timeout)
    finally:
        sys.path.remove(str(Path.cwd()))


def _attribute(spec: str, module, attribute: str, timeout: float):
    holder = module
    for part in attribute.split("."):
        if isinstance(holder, Mapping) and part in holder:
            holder = holder[part]
        elif hasattr(holder, part):
            holder = getattr(holder, part)
        else:
            where = target_name(spec) if holder is module else getattr(holder, "__name__", type(holder).__name__)
            raise UsageError(f"--impl {spec!r}: {where} has no {part!r}")
    return _instance(spec, holder, timeout) if inspect.isclass(holder) else holder


def target_name(spec: str) -> str:
    """The file or module part of a SPEC, as the user wrote it."""
    return spec.partition(":")[0]


def _functions(holder) -> dict[str, Callable]:
    found = {}
    for name in NAMES:
        f = holder.get(name) if isinstance(holder, Mapping) else getattr(holder, name, None)
        if callable(f):
            found[name] = f
    return found


# -- adapting ----------------------------------------------------------------------------


class _Watch:
    """Calls one user function and checks what it did: copies of the inputs are passed
    and compared afterwards, and the result must be numbers of the expected shape."""

    def __init__(self, name: str, f: Callable, notes: dict[str, list[str]], timeout: float):
        self.name, self.f, self.notes, self.timeout = name, f, notes, timeout
        self.hung: ImplementationError | None = None

    def __call__(self, *args, shape: tuple[int, ...]):
        if self.hung is not None:  # it overran once: every check of it fails, without the wait
            raise ImplementationError(f"{self.hung} (not called again)")
        given = [xp.array(a, copy=True) for a in args]
        try:
            out = call(self.name, self.f, *given, timeout=self.timeout)
        except Overran as e:
            self.hung = e
            raise
        for label, before, after in zip(("x", "second argument"), args, given, strict=False):
            if not xp.array_equal(before, after, equal_nan=True) and not self._noted("changed"):
                self._note(f"changed its input {label} in place")
        try:
            result = xp.asarray(out)
        except Exception as e:
            raise ImplementationError(f"{self.name} returned {type(out).__name__}, not an array: {e}") from None
        if result.dtype == object or not (xp.issubdtype(result.dtype, xp.number) or result.dtype == bool):
            raise ImplementationError(f"{self.name} returned {_what(out)}, not numbers")
        if result.size == 1 and shape == ():
            result = result.reshape(())
        if result.shape != shape:
            raise ImplementationError(
                f"{self.name} returned shape {result.shape} for input of shape {args[0].shape}; expected {shape}"
            )
        x = args[0]
        if not is_complex(x):
            if is_complex(result) or not xp.issubdtype(result.dtype, xp.floating):
                raise ImplementationError(f"{self.name} returned {result.dtype} for {x.dtype} input")
            if shape != () and result.dtype != x.dtype and not self._noted("dtype"):
                self._note(f"returned {result.dtype} for {x.dtype} input (dtype)")
        return result

    def _noted(self, word: str) -> bool:
        return any(word in note for note in self.notes.get(self.name, []))

    def _note(self, text: str) -> None:
        self.notes.setdefault(self.name, []).append(text)


def _what(out) -> str:
    return "None" if out is None else f"{type(out).__name__} of {xp.asarray(out, dtype=object).dtype}"


def adapt(
    found: dict[str, Callable], name: str, vector: bool, targets: str, reduction: str, timeout: float = 0.0
) -> Implementation:
    """The user's functions as an :class:`Implementation` on rows.

    ``vector``: the functions take one 1-D sample, so rows are passed one at a time.
    ``targets="index"``: the loss functions take integer class ids, not dense targets.
    ``timeout``: seconds one call may take (0: no limit).
    """
    notes: dict[str, list[str]] = {}
    watch = {k: _Watch(k, f, notes, timeout) for k, f in found.items()}

    def target(T):
        return xp.argmax(T, axis=-1) if targets == "index" else T

    def rows(f, X, *more, out: tuple[int, ...]):
        """Call ``f`` on the batch, or row by row for a 1-D implementation."""
        N = X.shape[0]
        if not vector:
            return f(X, *more, shape=(N, *out))
        return xp.stack([f(X[i], *(m[i] for m in more), shape=out) for i in range(N)])

    n_of = lambda X: X.shape[-1]  # noqa: E731
    impl = {}
    if "softmax" in watch:
        impl["softmax"] = lambda X: rows(watch["softmax"], X, out=(n_of(X),))
    if "softmax_jacobian" in watch:
        impl["softmax_jacobian"] = lambda X: rows(watch["softmax_jacobian"], X, out=(n_of(X), n_of(X)))
    if "softmax_backward" in watch:
        impl["softmax_backward"] = lambda X, G: rows(watch["softmax_backward"], X, G, out=(n_of(X),))
    if "cross_entropy" in watch:
        f = watch["cross_entropy"]
        impl["cross_entropy"] = lambda X, T: f(X[0], target(T)[0], shape=()) if vector else f(X, target(T), shape=())
        impl["row_losses"] = lambda X, T: xp.stack(
            [
                f(X[i], target(T)[i], shape=()) if vector else f(X[i : i + 1], target(T)[i : i + 1], shape=())
                for i in range(X.shape[0])
            ]
        )
    if "cross_entropy_grad" in watch:
        g = watch["cross_entropy_grad"]
        impl["cross_entropy_grad"] = lambda X, T: rows(g, X, target(T), out=(n_of(X),))
        # A mean over a stack of rows divides by their number: undo it, row by row.
        unmean = (lambda X: X.shape[0]) if reduction == "mean" and not vector else (lambda X: 1)
        impl["row_gradients"] = lambda X, T: impl["cross_entropy_grad"](X, T) * unmean(X)
    return Implementation(name=name, notes=notes, **impl)


def as_implementation(impl, vector: bool, targets: str, reduction: str, timeout: float = 0.0) -> Implementation:
    """Anything that names or holds the protocol functions, as an :class:`Implementation`:
    a SPEC string, a module, a class, an instance, a namespace, a mapping, or an
    :class:`Implementation` already. None is the reference."""
    if impl is None:
        return reference(reduction)
    if isinstance(impl, Implementation):
        return impl
    if isinstance(impl, str):
        return adapt(load(impl, timeout), impl, vector, targets, reduction, timeout)
    name = spec_of(impl)
    if inspect.isclass(impl):
        impl = _instance(name, impl, timeout)
    found = _functions(impl)
    if not found:
        raise UsageError(f"{name} defines none of {', '.join(NAMES)}")
    return adapt(found, name, vector, targets, reduction, timeout)


def spec_of(holder) -> str:
    """How to name an object given in place of a SPEC: its module's file (or
    ``file.py:Name`` for a class or function), as ``--impl`` would take it."""
    module = holder if inspect.ismodule(holder) else sys.modules.get(getattr(holder, "__module__", "") or "")
    source = getattr(module, "__file__", None)
    if source is None:
        return f"<{getattr(holder, '__name__', type(holder).__name__)} object>"
    where = _relative(source)
    if inspect.ismodule(holder):
        return where
    name = getattr(holder, "__qualname__", None)
    if name and getattr(module, name.split(".")[0], None) is not None and "<" not in name:
        return f"{where}:{name}"
    return f"<{type(holder).__name__} object from {where}>"


def _relative(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path


def _instance(spec: str, cls, timeout: float):
    """A layer class's methods need an instance; static and class methods work on the
    class itself. A constructor that raises is said, not swallowed."""
    if all(isinstance(inspect.getattr_static(cls, n, None), (staticmethod, classmethod)) for n in _functions(cls)):
        return cls
    try:
        return call(f"{cls.__name__}()", cls, timeout=timeout)
    except ImplementationError as e:
        raise UsageError(
            f"--impl {spec!r}: constructing {e}; give an instance (module:object) or make its arguments optional"
        ) from None

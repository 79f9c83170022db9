"""Loading an implementation: a file, a module, or an object inside either (``:object``),
and naming an object given in place of a SPEC."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from smgrad.errors import UsageError, opt
from smgrad.impl.protocol import NAMES
from smgrad.usercode import ImplementationError, call


def load(spec: str, timeout: float = 0.0) -> dict[str, Callable]:
    """The protocol functions named by ``spec``: ``path/to/file.py``, ``package.module``,
    either followed by ``:object`` (a class, instance, namespace or mapping). Importing
    may take ``timeout`` seconds (0: no limit).

    Raises :class:`UsageError` when nothing usable can be had from ``spec``: whatever the
    import raises (``SystemExit`` too) is said in one line with its file and line.
    """
    target, _, attribute = spec.partition(":")
    if not target:
        raise UsageError(f"{opt('impl')} {spec!r} names no file or module; give path/to/file.py or package.module")
    load_from = _import_file if _looks_like_path(target) else _import_module
    module = load_from(spec, target, timeout)
    holder = _attribute(spec, module, attribute, timeout) if attribute else module
    found = functions_of(holder) or (forward_of(spec, holder, timeout) if attribute else {})
    if not found:
        holders = [] if attribute else _classes_with_functions(module)
        hint = f"; name one of its classes that does: {', '.join(f'{target}:{c}' for c in holders)}" if holders else ""
        raise UsageError(f"{opt('impl')} {spec!r} defines none of {', '.join(NAMES)}{hint}")
    return found


def _classes_with_functions(module) -> list[str]:
    """The classes defined in ``module`` that have protocol functions as methods."""
    return [
        name
        for name, value in vars(module).items()
        if inspect.isclass(value)
        and getattr(value, "__module__", None) == module.__name__
        and any(callable(getattr(value, f, None)) for f in NAMES)
    ]


def _importing(spec: str, target: str, run: Callable, timeout: float):
    """``run()``, with anything it raises (but a real interrupt) as a one-line UsageError."""
    try:
        return call("importing it", run, timeout=timeout)
    except ImplementationError as e:
        missing = e.__cause__
        if isinstance(missing, ModuleNotFoundError) and missing.name and target.startswith(missing.name):
            raise UsageError(
                f"{opt('impl')} {spec!r}: no module named {missing.name!r} (a file needs its .py ending)"
            ) from None
        raise UsageError(f"{opt('impl')} {spec!r}: {e}") from None


def _looks_like_path(target: str) -> bool:
    return target.endswith(".py") or "/" in target or "\\" in target or Path(target).is_file()


def _import_file(spec: str, target: str, timeout: float):
    path = Path(target)
    if path.is_dir():
        raise UsageError(
            f"{opt('impl')} {spec!r}: {target!r} is a directory; name a .py file in it, or a package.module"
        )
    if not path.is_file():
        raise UsageError(f"{opt('impl')} {spec!r}: no such file {target!r}")
    name = f"smgrad_impl_{abs(hash(str(path.resolve())))}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise UsageError(f"{opt('impl')} {spec!r}: {target!r} is not a Python file")
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
            raise UsageError(f"{opt('impl')} {spec!r}: {where} has no {part!r}")
    return instance(spec, holder, timeout) if inspect.isclass(holder) else holder


def target_name(spec: str) -> str:
    """The file or module part of a SPEC, as the user wrote it."""
    return spec.partition(":")[0]


def functions_of(holder) -> dict[str, Callable]:
    found = {}
    for name in NAMES:
        f = holder.get(name) if isinstance(holder, Mapping) else getattr(holder, name, None)
        if callable(f):
            found[name] = f
    return found


def forward_of(spec: str, holder, timeout: float) -> dict[str, Callable]:
    """One callable named by ``:object`` that is a forward — a function, a
    ``torch.autograd.Function`` subclass (its ``apply``), an ``nn.Module`` — as ``softmax``
    if it takes one argument, ``cross_entropy`` if two; its backward is then its
    library's autograd (:mod:`smgrad.impl.autograd`). ``{}`` for anything else."""
    if inspect.isclass(holder) and callable(getattr(holder, "apply", None)) and hasattr(holder, "backward"):
        f, signature_of, skip = holder.apply, holder.forward, 1  # forward(ctx, *inputs)
    elif inspect.isclass(holder):
        if not callable(getattr(holder, "forward", None)):
            return {}
        f = _construct(spec, holder, timeout)
        signature_of, skip = f.forward, 0
    elif callable(holder):
        f, signature_of, skip = holder, getattr(holder, "forward", holder), 0
    else:
        return {}
    try:
        parameters = list(inspect.signature(signature_of).parameters.values())[skip:]
    except (TypeError, ValueError):
        return {}
    required = [
        p for p in parameters if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return {1: {"softmax": f}, 2: {"cross_entropy": f}}.get(len(required), {})


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


def instance(spec: str, cls, timeout: float):
    """A layer class's methods need an instance; static and class methods work on the
    class itself. A constructor that raises is said, not swallowed."""
    if all(isinstance(inspect.getattr_static(cls, n, None), (staticmethod, classmethod)) for n in functions_of(cls)):
        return cls
    return _construct(spec, cls, timeout)


def _construct(spec: str, cls, timeout: float):
    try:
        return call(f"{cls.__name__}()", cls, timeout=timeout)
    except ImplementationError as e:
        raise UsageError(
            f"{opt('impl')} {spec!r}: constructing {e}; give an instance (module:object) or make its arguments optional"
        ) from None

"""The array library an implementation computes with: numpy, torch or JAX.

smgrad computes in numpy. Each call of an implementation gets its arguments as arrays of
the implementation's own library — the same dtype (complex ones for the complex step,
64-bit integers for class ids), on its device — and what it returns comes back as numpy.
A perturbed stack is one array, so one call evaluates all of it, on a GPU too. In a
bfloat16 or float16 run the float32 arrays that hold the run's values are passed in that
dtype, and what comes back in it is returned as float32, exactly.

torch and JAX are imported only when a run asks for them (``--array``) or the
implementation already imported them (``auto``): a numpy run never loads either.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from types import ModuleType

from smgrad.backend import xp
from smgrad.errors import UsageError, opt


class Arrays:
    """numpy: arrays are passed and taken as they are."""

    name = "numpy"

    def to(self, a, low: str | None = None):
        """A numpy array as this library's array; in a low-precision run (``low``,
        :mod:`smgrad.precision`) the float32 arrays that hold its values in that dtype."""
        if low is None or a.dtype != xp.float32:
            return a
        if low != "float16":
            raise UsageError(f"{opt('dtype')} {low}: numpy has no {low}; give {opt('array')} torch or jax")
        return a.astype(xp.float16)

    def copy(self, a):
        """A copy of an array of this library."""
        return a.copy()

    def back(self, value):
        """What the implementation returned (or an argument it was given), as numpy: a
        numpy array, a Python number, a list; another library's array where it is one."""
        return value

    def dtype_of(self, value) -> str | None:
        """The dtype of ``value`` in this library's words (``bfloat16``, ``float32``), or
        None where it has none."""
        dtype = getattr(value, "dtype", None)
        return None if dtype is None else str(dtype)

    def describe(self) -> str:
        return "numpy"


class TorchArrays(Arrays):
    """torch tensors on ``device``."""

    name = "torch"

    def __init__(self, device: str):
        self.torch = require("torch", "torch")
        self.device = self.torch.device(device)
        if self.device.type == "cuda" and not self.torch.cuda.is_available():
            raise UsageError(
                f"{opt('device')} {device}: torch finds no CUDA device (torch.cuda.is_available() is False); "
                f"use {opt('device', 'cpu')}"
            )

    def to(self, a, low: str | None = None):
        tensor = self.torch.from_numpy(xp.ascontiguousarray(a))
        if low is not None and a.dtype == xp.float32:
            tensor = tensor.to(getattr(self.torch, low))  # exact: the values are in that dtype
        return tensor.to(self.device)

    def copy(self, a):
        return a.clone()

    def back(self, value):
        torch = self.torch
        if isinstance(value, torch.Tensor):
            value = value.detach()
            if value.dtype in (torch.bfloat16, torch.float16):
                value = value.float()  # exactly: numpy has no bfloat16
            return value.cpu().resolve_conj().numpy()
        if isinstance(value, (list, tuple)) and any(isinstance(v, torch.Tensor) for v in value):
            return [self.back(v) for v in value]
        return value

    def dtype_of(self, value) -> str | None:
        if isinstance(value, self.torch.Tensor):
            return str(value.dtype).removeprefix("torch.")
        return super().dtype_of(value)

    def describe(self) -> str:
        return f"torch {self.torch.__version__} tensors on {self.device}"


class JaxArrays(Arrays):
    """JAX arrays on ``device`` (JAX's default where ``cpu`` is not asked for), with
    64-bit types enabled so that a float64 run is one."""

    name = "jax"

    def __init__(self, device: str):
        jax = require("jax", "jax")
        jax.config.update("jax_enable_x64", True)
        self.jax, self.jnp = jax, jax.numpy
        kind, _, index = device.partition(":")
        try:
            found = jax.devices("gpu" if kind == "cuda" else "cpu")
        except RuntimeError:
            found = []
        if not found or int(index or 0) >= len(found):
            raise UsageError(f"{opt('device')} {device}: JAX finds no such device; use {opt('device', 'cpu')}")
        self.device = found[int(index or 0)]

    def to(self, a, low: str | None = None):
        value = self.jnp.asarray(a)
        if low is not None and a.dtype == xp.float32:
            value = value.astype(getattr(self.jnp, low))
        return self.jax.device_put(value, self.device)

    def copy(self, a):
        return a  # immutable

    def back(self, value):
        if isinstance(value, self.jax.Array):
            if value.dtype in (self.jnp.bfloat16, self.jnp.float16):
                value = value.astype(self.jnp.float32)
            return xp.asarray(value)
        return value

    def describe(self) -> str:
        return f"jax {self.jax.__version__} arrays on {self.device}"


LIBRARIES = {"numpy": Arrays, "torch": TorchArrays, "jax": JaxArrays}


def arrays_for(name: str, device: str, functions: Iterable[Callable] = ()) -> Arrays:
    """The library ``name`` on ``device``; ``auto``: torch or JAX where ``functions``
    come from code that imported it, else numpy."""
    if name == "auto":
        name = imported_by(functions)
    if name == "numpy":
        if device != "cpu":
            raise UsageError(
                f"{opt('device')} {device}: numpy arrays live on the CPU; give {opt('array')} torch or jax"
            )
        return Arrays()
    return LIBRARIES[name](device)


def imported_by(functions: Iterable[Callable]) -> str:
    """``torch`` or ``jax`` if the code of ``functions`` refers to that library (a module
    or anything of it among their globals, or an object of its classes), else ``numpy``."""
    for library in ("torch", "jax"):
        if library not in sys.modules:  # nothing imported it: no code can use it
            continue
        for f in functions:
            if any(_of(v, library) for v in _names_of(f)):
                return library
    return "numpy"


def _names_of(f) -> list:
    """What ``f`` refers to: itself (an ``nn.Module``), the object it is bound to (a
    module's methods, an ``autograd.Function``'s ``apply``), and its globals."""
    seen = [f, getattr(f, "__self__", None)]
    code = getattr(f, "__func__", f)
    seen += list(getattr(code, "__globals__", {}).values())
    return seen


def _of(value, library: str) -> bool:
    """``value`` is the library, or comes from it: a function of it, or an object of a
    class of it (an ``nn.Module`` subclass, whatever module defined the subclass)."""
    if isinstance(value, ModuleType):
        names = [value.__name__]
    else:
        kind = value if isinstance(value, type) else type(value)
        names = [getattr(value, "__module__", None), *(c.__module__ for c in kind.__mro__)]
    return any(isinstance(m, str) and (m == library or m.startswith(library + ".")) for m in names)


def require(module: str, extra: str):
    """``module`` imported, or a usage error that says how to install it."""
    try:
        return __import__(module)
    except ImportError:
        raise UsageError(f"{opt('array')} {module} needs {module} installed: pip install 'smgrad[{extra}]'") from None

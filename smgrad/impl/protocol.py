"""What the checks speak to: an :class:`Implementation`, functions of rows ``(N, n)`` and
dense targets ``(N, n)``, any of which may be missing, and what was seen wrong in its
calls, returned as data for each scope that asks (:meth:`Implementation.observe`)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from smgrad import analytic, functions
from smgrad.backend import xp
from smgrad.precision import round_to

NAMES = ("softmax", "softmax_jacobian", "softmax_backward", "cross_entropy", "cross_entropy_grad")


class Observations:
    """Notes on an implementation's calls within one scope, per function name, in the
    order seen (an input changed in place, a wrong dtype); at most one of each kind."""

    def __init__(self):
        self._notes: dict[str, dict[str, str]] = {}

    def note(self, name: str, kind: str, text: str) -> None:
        self._notes.setdefault(name, {}).setdefault(kind, text)

    @property
    def notes(self) -> Mapping[str, tuple[str, ...]]:
        """``{function: (note, ...)}``, a read-only copy."""
        return MappingProxyType({name: tuple(kinds.values()) for name, kinds in self._notes.items()})


class Recorder:
    """Where the watcher of a user's functions writes: the current scope's observations
    (a scratch one outside any scope)."""

    def __init__(self):
        self.current = Observations()
        self.watches: dict = {}  # the watched functions, shared by adaptations to other shapes
        self.hung: dict = {}  # function name -> how it overran: it is not called again
        self.unreported: set = set()  # of those, the ones that overran outside any check
        self.low: str | None = None  # float32 arrays are passed in this dtype (Implementation.storing)


@dataclass(frozen=True)
class Implementation:
    """The protocol functions, on rows. Missing ones are None.

    ``row_losses(X, T) -> (N,)`` is the per-row loss behind ``cross_entropy``, which is
    what gets differentiated numerically (rows are independent, the reduction is not);
    ``row_gradients(X, T) -> (N, n)`` likewise the gradient of each row's own loss.
    ``softmax_jacobian_block(X, rows, cols)``, where present, gives part of the Jacobian
    so that a large one is never formed whole.
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
    arrays: str = "numpy"  # what the functions are called with, and where: "torch 2.13.0 tensors on cpu"
    # Backward functions the library's autograd derived from a forward: name -> what it is.
    derived: Mapping[str, str] = field(default_factory=dict, compare=False)
    # The backward functions called after their forward at the same input (name -> function).
    ordered: Mapping[str, Callable] = field(default_factory=dict, compare=False, repr=False)
    recorder: Recorder = field(default_factory=Recorder, compare=False, repr=False)

    def forward_first(self) -> Implementation:
        """This implementation with each backward calling its forward at the same input
        first, as training does: a layer may keep what its forward computed and refuse a
        backward without it. The derivative checks use it; the stateless check calls the
        functions out of order on purpose and does not."""
        return dataclasses.replace(self, **self.ordered) if self.ordered else self

    @contextlib.contextmanager
    def storing(self, low: str | None) -> Iterator[None]:
        """Inside the block, the float32 arrays that hold a low-precision run's values are
        passed in that dtype (``low``, or None: as they are)."""
        before, self.recorder.low = self.recorder.low, low
        try:
            yield
        finally:
            self.recorder.low = before

    @contextlib.contextmanager
    def observe(self) -> Iterator[Observations]:
        """The notes on every call made inside the ``with`` block, as they come."""
        seen, before = Observations(), self.recorder.current
        self.recorder.current = seen
        try:
            yield seen
        finally:
            self.recorder.current = before


class _Blocks:
    """:func:`smgrad.analytic.softmax_jacobian_block` with the softmax of the last ``x``
    kept: a full check asks for a few hundred blocks at one ``x`` (at n = 3000, the
    softmax recomputed for each took a fifth of the check)."""

    def __init__(self):
        self.x = self.y = None

    def __call__(self, x, rows, cols):
        if self.x is None or self.x.shape != x.shape or self.x.dtype != x.dtype or not xp.array_equal(self.x, x):
            self.x, self.y = x.copy(), functions.softmax(x)
        return analytic.jacobian_block_of(self.y, rows, cols)


def reference(reduction: str = "mean", ignore: bool = False) -> Implementation:
    """smgrad's own functions (the seed's formulas) as an implementation. In a low
    precision (:meth:`Implementation.storing`), given the float32 arrays that hold the
    run's values, they compute in float32 and store the result in that dtype, as a
    correct kernel does. ``ignore``: rows without a target (an ignore index) are left out
    of a mean; ``none``: each row's loss (its upstream gradient is in its targets)."""
    recorder = Recorder()

    def stored(f):
        def call(x, *more):
            out = f(x, *more)
            return round_to(out, recorder.low) if recorder.low and x.dtype == xp.float32 else out

        return call

    return Implementation(
        name="reference",
        softmax=stored(functions.softmax),
        softmax_jacobian=stored(analytic.softmax_jacobian),
        softmax_backward=stored(analytic.softmax_vjp),
        cross_entropy=stored(lambda x, t: functions.cross_entropy(x, t, reduction, ignore)),
        cross_entropy_grad=stored(lambda x, t: analytic.cross_entropy_grad(x, t, reduction, ignore)),
        row_losses=stored(lambda x, t: functions.cross_entropy(x, t, "none")),
        row_gradients=stored(lambda x, t: analytic.cross_entropy_grad(x, t, "none")),
        softmax_jacobian_block=stored(_Blocks()),
        is_reference=True,
        recorder=recorder,
    )

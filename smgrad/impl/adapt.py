"""A user's functions presented as an :class:`Implementation` on rows, whatever they take
(a batch or one vector, dense targets or class ids), every call watched: the shape and
dtype of what comes back, whether the arrays passed in were changed, and anything the
call raised, exited with or hung in (:mod:`smgrad.usercode`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from smgrad import functions
from smgrad.backend import as_array, is_complex, xp
from smgrad.impl import autograd
from smgrad.impl.arrays import Arrays
from smgrad.impl.protocol import Implementation, Recorder
from smgrad.usercode import ImplementationError, Overran, call

if TYPE_CHECKING:
    from smgrad.impl.calling import Calling


class _Watch:
    """Calls one user function and checks what it did: copies of the inputs are passed,
    as arrays of the implementation's library, and compared afterwards, and the result
    must be numbers of the expected shape."""

    def __init__(self, name: str, f: Callable, recorder: Recorder, timeout: float, arrays: Arrays):
        self.name, self.f, self.recorder, self.timeout, self.arrays = name, f, recorder, timeout, arrays

    def __call__(self, *args, shape: tuple[int, ...]):
        hung = self.recorder.hung.get(self.name)  # by name: every watch of that function
        if hung is not None:  # it overran once: every check of it fails, without the wait
            if self.name in self.recorder.unreported:  # overran measuring its precision
                self.recorder.unreported.discard(self.name)
                raise ImplementationError(str(hung))
            raise ImplementationError(f"{hung} (not called again)")
        low = self.recorder.low
        copies = [xp.array(a, copy=True) for a in args]
        given = [self.arrays.to(a, low) for a in copies]
        # As the function got them: the arguments themselves where it got copies of them as they are.
        passed = [
            a if g is c else xp.array(self.arrays.back(g), copy=True)
            for a, c, g in zip(args, copies, given, strict=True)
        ]
        try:
            out = call(self.name, self.f, *given, timeout=self.timeout)
        except Overran as e:
            self.recorder.hung[self.name] = e
            raise
        for label, before, after in zip(("x", "second argument"), passed, given, strict=False):
            if not _unchanged(before, self.arrays.back(after)):
                self.recorder.current.note(self.name, "in place", f"overwrites its input {label} in place")
        try:
            result = as_array(self.arrays.back(out))  # the one conversion of what an implementation returns
            if result.dtype == xp.float16:  # numpy's: held in float32, as the run's values are
                result = result.astype(xp.float32)
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
            got = self.arrays.dtype_of(out) or str(result.dtype)
            want = self.arrays.dtype_of(given[0])
            if is_complex(result) or not xp.issubdtype(result.dtype, xp.floating):
                raise ImplementationError(f"{self.name} returned {got} for {want} input")
            if got != want:  # a scalar loss too: the dtype asked for is the dtype returned
                self.recorder.current.note(self.name, "dtype", f"returned {got} for {want} input (dtype)")
        return result


def _unchanged(before, after) -> bool:
    """``after`` holds what ``before`` did (NaN where it had NaN). The plain comparison
    first: NaN-aware ``array_equal`` selects the non-NaN entries by a mask, which for a
    block of 4 million logits took longer than the implementation's call."""
    return bool(xp.array_equal(before, after) or xp.array_equal(before, after, equal_nan=True))


# backward -> (its forward, how many of the backward's arguments the forward takes)
FORWARD_OF = {"softmax_backward": ("softmax", 1), "cross_entropy_grad": ("cross_entropy", 2)}


def _after(forward: Callable, backward: Callable, taken: int, arrays: Arrays) -> Callable:
    """``backward``, called after ``forward`` at the same input, as training calls it (the
    forward on copies: a kernel that overwrites its input is reported, not run twice on
    what it wrote)."""

    def after(*args):
        forward(*(arrays.copy(a) for a in args[:taken]))
        return backward(*args)

    return after


def _what(out) -> str:
    return "None" if out is None else f"{type(out).__name__} of {xp.asarray(out, dtype=object).dtype}"


def adapt(
    found: dict[str, Callable],
    name: str,
    calling: Calling,
    like: Implementation | None = None,
    arrays: Arrays | None = None,
) -> Implementation:
    """The user's functions as an :class:`Implementation` on rows, called as ``calling``
    says (:class:`Calling`).

    ``vector``: the functions take one 1-D sample, so rows are passed one at a time.
    ``targets="index"``: the loss functions take integer class ids, not dense targets;
    a row whose targets are 0 carries the ignore index. ``reduction="none"``: the checks'
    targets carry each row's upstream gradient (``target_sum`` times it is their sum,
    :func:`smgrad.problems.make_problem`): the loss is given the targets without it and
    its values are multiplied by it, and the gradient takes it as a third argument.
    ``timeout``: seconds one call may take (0: no limit). ``like``: an adaptation of the
    same functions whose watchers (what was noted, a function that hung) this one shares.
    ``arrays``: the library the functions are called with (numpy by default); a backward
    it can derive from a forward by autograd stands in for a missing one.
    """
    vector, targets, reduction, timeout = calling.vector, calling.targets, calling.reduction, calling.timeout
    ignore_index, target_sum = calling.ignore_index, calling.target_sum
    recorder = like.recorder if like is not None else Recorder()
    arrays = arrays or Arrays()
    found, derived = autograd.derive(found, arrays)
    if not recorder.watches:
        recorder.watches = {k: _Watch(k, f, recorder, timeout, arrays) for k, f in found.items()}
    watch = recorder.watches

    none = reduction == "none"

    def upstream(T):
        """Each row's upstream gradient, from targets that carry it (reduction none)."""
        u = xp.sum(T.astype(float), axis=-1) / target_sum
        return xp.where(u == 0, 1.0, u).astype(T.dtype)

    def target(T):
        if targets == "index":
            ids = xp.argmax(xp.abs(T), axis=-1)
            return ids if ignore_index is None else xp.where(xp.any(T != 0, axis=-1), ids, ignore_index)
        return T / upstream(T)[..., None] if none else T

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
    if "cross_entropy" in watch and none:  # one loss per row, times its upstream gradient
        f = watch["cross_entropy"]
        impl["cross_entropy"] = impl["row_losses"] = lambda X, T: upstream(T) * rows(f, X, target(T), out=())
    elif "cross_entropy" in watch:
        f = watch["cross_entropy"]
        impl["cross_entropy"] = lambda X, T: f(X[0], target(T)[0], shape=()) if vector else f(X, target(T), shape=())

        def row_losses(X, T):
            """Each row's loss alone; an ignored row's is 0 (a mean over no rows is 0/0)."""
            ids = target(T)
            return xp.stack(
                [
                    xp.zeros((), dtype=X.dtype)
                    if ignore_index is not None and not xp.any(T[i])
                    else f(X[i], ids[i], shape=())
                    if vector
                    else f(X[i : i + 1], ids[i : i + 1], shape=())
                    for i in range(X.shape[0])
                ]
            )

        impl["row_losses"] = row_losses
    # A mean over a stack of rows divides by their number: row_gradients undoes it.
    counted = lambda T: functions.counted(T, ignore_index is not None)  # noqa: E731
    unmean = counted if reduction == "mean" and not vector else (lambda T: 1)

    def gradients(w):
        """``cross_entropy_grad`` and ``row_gradients`` from the watched gradient ``w``."""
        if none:
            grad = lambda X, T: rows(w, X, target(T), upstream(T), out=(n_of(X),))  # noqa: E731
        else:
            grad = lambda X, T: rows(w, X, target(T), out=(n_of(X),))  # noqa: E731
        return grad, lambda X, T: grad(X, T) * unmean(T)

    if "cross_entropy_grad" in watch:
        impl["cross_entropy_grad"], impl["row_gradients"] = gradients(watch["cross_entropy_grad"])
    # The backward functions again, each called after its forward at the same input.
    ordered = {}
    for backward, (forward, taken) in FORWARD_OF.items():
        if backward in found and forward in found:
            w = _Watch(backward, _after(found[forward], found[backward], taken, arrays), recorder, timeout, arrays)
            if backward == "softmax_backward":
                ordered[backward] = lambda X, G, w=w: rows(w, X, G, out=(n_of(X),))
            else:
                ordered[backward], ordered["row_gradients"] = gradients(w)
    return Implementation(
        name=name, recorder=recorder, ordered=ordered, arrays=arrays.describe(), derived=derived, **impl
    )

"""What a check measures with: the scales of the functions compared, tolerances, the
numerical method and step, how many perturbations fit in memory, and where an entry is
in the user's terms."""

from __future__ import annotations

from smgrad import bounds, numdiff
from smgrad.backend import generator, quietly, xp
from smgrad.compare import Tolerance
from smgrad.config import Config
from smgrad.precision import storage
from smgrad.problems import Problem


def tolerance(atol, cfg: Config, unit=None) -> Tolerance:
    """The model's ``atol`` and ``rtol`` unless the user overrides them; ``unit`` (shaped
    like ``atol``) is the size of the largest value the quantity can have, per row."""
    return Tolerance(atol, bounds.rtol(cfg.dtype, cfg.dim), unit).overridden(cfg.atol, cfg.rtol)


def softmax_scales(x, y) -> bounds.Scales:
    return bounds.Scales.of(x, value=xp.max(xp.abs(y), axis=-1, keepdims=True), slope=1.0)


def contraction_scales(x, y, g) -> bounds.Scales:
    """Scales of ``<g, softmax(x)>``, the function whose gradient is ``J^T g``."""
    return bounds.Scales.of(
        x, value=xp.sum(xp.abs(g * y), axis=-1, keepdims=True), slope=2 * xp.max(xp.abs(g), axis=-1, keepdims=True)
    )


def loss_scales(x, t, losses) -> bounds.Scales:
    return bounds.Scales.of(x, value=xp.abs(losses)[:, None], slope=xp.sum(xp.abs(t), axis=-1, keepdims=True))


def gradient_scales(x, y, t) -> bounds.Scales:
    """Scales of the cross-entropy gradient ``y sum(t) - t`` of each row."""
    total = xp.sum(t, axis=-1, keepdims=True)
    return bounds.Scales.of(
        x, value=xp.max(xp.abs(y * total - t), axis=-1, keepdims=True), slope=xp.sum(xp.abs(t), axis=-1, keepdims=True)
    )


def row_weight(p: Problem, cfg: Config) -> float:
    """d L / d (row loss): 1/B for mean reduction of a batch (1/rows not ignored, with an
    ignore index), else 1 (``none``: each row's upstream gradient is in its targets)."""
    if cfg.reduction != "mean" or p.vector:
        return 1.0
    return 1.0 / (p.batch if p.ignored is None else max(1, int(xp.count_nonzero(~p.ignored))))


def rows_of(p: Problem) -> tuple:
    """``(kept, upstream)``: the rows a mean is over where some carry an ignore index
    (else None), and each row's upstream gradient (reduction none, else None)."""
    kept = None if p.ignored is None else max(1, int(xp.count_nonzero(~p.ignored)))
    return kept, p.upstream


LIFT = 2.0**-30  # a perturbation, relative to the logits, far below float32's resolution


def precision(f, x, cfg: Config | None = None):
    """The dtype to differentiate the row function ``f`` in at rows ``x``: float64 for a
    float32 ``x`` when ``f`` computes in float64 given it (so the numerical side is not
    the bottleneck); float32 for float64 ``x`` in a run judged in float32 (the
    implementation computes at float32 given float64: :mod:`.effective`); else ``x``'s own.

    Computing in float64 is tested, not assumed: given float64 rows, ``f`` must return
    float64 and follow a perturbation of ``2**-30`` of the logits (which float32 cannot
    represent) linearly: ``f(x + 2d) - f(x) = 2 (f(x + d) - f(x))`` to 1e-3. A function
    that rounds its input or an intermediate to float32 gives no change, or steps of
    float32's spacing that are not linear.
    """
    if x.dtype == xp.float64 and cfg is not None and cfg.dtype == "float32":
        return xp.dtype(xp.float32)
    if x.dtype != xp.float32:
        return x.dtype
    x64 = x.astype(float)
    d = LIFT * bounds.size_of(x64) * generator(0, 23).standard_normal(x.shape)
    try:
        with quietly():
            out = xp.asarray(f(xp.concatenate([x64, x64 + d, x64 + 2 * d])))
    except Exception:  # raising for float64 input: it is differentiated as it was given
        return x.dtype
    if out.dtype != xp.float64 or out.shape[0] != 3 * x.shape[0]:
        return x.dtype
    f0, f1, f2 = xp.split(out, 3)
    with quietly():
        change = float(xp.max(xp.abs(f2 - f0)))
        curve = float(xp.max(xp.abs(f2 - f0 - 2 * (f1 - f0))))
    return xp.dtype(float) if 0 < change < xp.inf and curve <= 1e-3 * change else x.dtype


def precision_note(diff, cfg: Config) -> str:
    """What a report says of differentiating in ``diff`` when the run is in another dtype."""
    return "" if diff == xp.dtype(cfg.dtype) else f"differentiated in {diff.name}, which the implementation computes in"


def choose_method(f, x, scales, cfg: Config) -> tuple[str, str]:
    """The method to use for ``f``, and a note when ``auto`` had to fall back."""
    if cfg.method != "auto":
        return cfg.method, ""
    fault = numdiff.complex_step_fault(f, x, scales)
    if fault is None:
        return "complex", ""
    return "richardson", f"complex step not usable: {fault}"


def step_for(method: str, scales, cfg: Config, dtype=None):
    """The step for ``method`` differentiating in ``dtype`` (the run's by default)."""
    if cfg.step is not None:
        return xp.full(scales.size.shape, cfg.step)
    return bounds.default_step(method, scales, dtype or cfg.dtype, cfg.dim)


def chunk(p: Problem, m: int, cfg: Config) -> int:
    """Perturbations per evaluation, for a function with ``m`` outputs per row."""
    itemsize = 2 * storage(cfg.dtype).itemsize  # complex step doubles it
    return numdiff.chunk_size(p.batch, p.dim, m, itemsize, cfg.max_memory // 4)


def index_of(shape: tuple[int, ...], vector: bool, layout=None):
    """Map a flat position in an array of ``shape`` to the user's index, dropping the
    batch axis (always axis 0 after ``layout``) for a 1-D problem."""

    def index_of(q: int) -> tuple[int, ...]:
        idx = tuple(int(i) for i in xp.unravel_index(q, shape))
        if layout is not None:
            idx = layout(idx)
        return idx[1:] if vector else idx

    return index_of


def column_index(shape, vector: bool, cols):
    """The index ``(b, i, j)`` of an entry of a block ``D[k, b, i] = J[b, i, cols[k]]``."""
    return index_of(shape, vector, lambda idx: (idx[1], idx[2], int(cols[idx[0]])))


def coordinate_index(shape, vector: bool, cols):
    """The index ``(b, j)`` of an entry of a block ``D[k, b] = g[b, cols[k]]``."""
    return index_of(shape, vector, lambda idx: (idx[1], int(cols[idx[0]])))


def jacobian_too_large(impl, p: Problem, cfg: Config) -> str:
    """Why a user's whole ``(B, n, n)`` Jacobian is not asked for (over half of
    ``max_memory``), or ``""``."""
    size = p.batch * p.dim**2 * storage(cfg.dtype).itemsize
    if impl.softmax_jacobian is None or impl.softmax_jacobian_block is not None or size <= cfg.max_memory // 2:
        return ""
    return f"its (B, n, n) Jacobian takes {size / 2**20:.0f} MiB, over half of max_memory"

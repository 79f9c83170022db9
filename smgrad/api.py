"""smgrad as a library: the same checks the command runs, returned as a report."""

from __future__ import annotations

from smgrad import checks, coverage, options, usercode
from smgrad.config import Config
from smgrad.errors import UsageError, opt
from smgrad.impl import Calling, both_shapes, spec_of
from smgrad.report import Report


def check(impl=None, progress=None, **values) -> Report:
    """Check ``impl`` the way ``smgrad check`` does and return the :class:`Report`.

    ``impl`` is a SPEC string (``"path/to/file.py"``, ``"package.module:object"``), a
    module, class, instance, namespace or mapping holding any of ``softmax``,
    ``softmax_jacobian``, ``softmax_backward``, ``cross_entropy``, ``cross_entropy_grad``;
    None checks the built-in reference. ``values`` are the options of ``smgrad check``
    in the same forms (``dim=[2, 10]``, ``seed="0..2"``, ``dtype="float64,float32"``,
    ``scenarios="typical"``); each value of ``dim``, ``seed`` and ``dtype`` is a run.
    ``progress(done, total)`` is called after each scenario of each run.

    The report has ``.passed``, iterates over its check results and has ``.to_json()``.
    Raises :class:`smgrad.errors.UsageError` for a bad option or an unusable ``impl``.
    """
    given = options.parse(values)
    outputs = [name for name in given if options.BY_NAME[name].output]
    if outputs:
        raise UsageError(f"{', '.join(outputs)}: a report option of the command line, not of smgrad.check")
    if impl is not None and "impl" in given:
        raise UsageError("impl given twice: as the first argument and as impl=")
    if impl is not None and not isinstance(impl, str):
        named = spec_of(impl)
        given["impl"] = None if named.startswith("<") else named
    elif impl is not None:
        given["impl"] = impl
    configs = [Config(**run) for run in options.runs(options.with_defaults(given))]
    first = configs[0]
    target = impl if impl is not None else first.impl
    with usercode.interrupts():
        implementation, other = both_shapes(target, Calling.of(first))
        if implementation.arrays == "numpy" and not implementation.is_reference:
            for c in configs:
                if c.dtype == "bfloat16":
                    raise UsageError(
                        f"{opt('dtype')} bfloat16: numpy has no bfloat16; give {opt('array')} torch or jax"
                    )
        vectors = []  # the 1-D adaptation, made only if a case asks for it

        def vector():
            vectors.append(other())
            return vectors[-1]

        cases, covered = coverage.cases(configs, given, vector, implementation)
        vector_impl = vectors[0] if vectors else None
        return checks.run_all(configs, implementation, progress, cases, vector_impl, tuple(covered))

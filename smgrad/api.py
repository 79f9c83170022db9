"""smgrad as a library: the same checks the command runs, returned as a report."""

from __future__ import annotations

from smgrad import checks
from smgrad.config import Config
from smgrad.impl import as_implementation
from smgrad.report import Report


def check(impl=None, **options) -> Report:
    """Check ``impl`` the way ``smgrad check`` does and return the :class:`Report`.

    ``impl`` is a SPEC string (``"path/to/file.py"``, ``"package.module:object"``), a
    module, class, instance, namespace or mapping holding any of ``softmax``,
    ``softmax_jacobian``, ``softmax_backward``, ``cross_entropy``, ``cross_entropy_grad``;
    None checks the built-in reference. ``options`` are those of :class:`Config`
    (``dim``, ``batch``, ``seed``, ``dtype``, ``targets``, ``reduction``, ...).

    The report has ``.passed``, iterates over its check results and has ``.to_json()``.
    Raises :class:`smgrad.errors.UsageError` for a bad option or an unusable ``impl``.
    """
    spec = impl if isinstance(impl, str) else options.pop("impl", None)
    config = Config(impl=spec, **options)
    implementation = as_implementation(impl, config.batch is None, config.targets, config.reduction)
    return checks.run(config, implementation)

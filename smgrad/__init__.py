"""smgrad: is this softmax / cross-entropy gradient right?

``smgrad.check(impl, **options)`` runs the checks of ``smgrad check`` and returns the
report; ``smgrad.testing.assert_correct`` does the same inside a test.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("smgrad")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__", "check"]


def __getattr__(name: str):
    # Imported on first use, so that `import smgrad` (and `smgrad --version`) stays light.
    if name == "check":
        from smgrad.api import check

        return check
    raise AttributeError(f"module 'smgrad' has no attribute {name!r}")

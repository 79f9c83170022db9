"""smgrad: is this softmax / cross-entropy gradient right?

``smgrad.check(impl, **options)`` runs the checks of ``smgrad check`` and returns the
report; ``smgrad.testing.assert_correct`` does the same inside a test.
"""

__all__ = ["__version__", "check"]


def __getattr__(name: str):
    # Looked up on first use, so that `import smgrad` (and so `smgrad --help`) stays light.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("smgrad")
        except PackageNotFoundError:  # a source tree that was never installed
            return "0+unknown"
    if name == "check":
        from smgrad.api import check

        return check
    raise AttributeError(f"module 'smgrad' has no attribute {name!r}")

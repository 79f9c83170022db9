"""smgrad: is this softmax / cross-entropy gradient right?"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("smgrad")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

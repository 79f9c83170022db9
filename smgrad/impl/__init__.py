"""Implementations under test: loading them (:mod:`.load`), presenting a user's functions
as an :class:`Implementation` and watching their calls (:mod:`.adapt`), and the protocol
the checks speak to (:mod:`.protocol`)."""

from smgrad.impl.adapt import adapt
from smgrad.impl.calling import Calling, as_implementation, both_shapes
from smgrad.impl.load import load, spec_of
from smgrad.impl.protocol import NAMES, Implementation, Observations, reference
from smgrad.usercode import ImplementationError, describe

__all__ = [
    "NAMES",
    "Calling",
    "Implementation",
    "ImplementationError",
    "Observations",
    "adapt",
    "as_implementation",
    "both_shapes",
    "describe",
    "load",
    "reference",
    "spec_of",
]

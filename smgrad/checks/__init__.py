"""The checks: :func:`run` one configuration, :func:`run_all` several, into a report.

``run`` (:mod:`.run`) orchestrates; ``values``, ``derivatives`` and ``identities`` are the
checks; ``probes`` is what full and fast mode probe; ``measure`` the scales, tolerances,
method and step a check measures with; ``outcome`` how a check becomes a result.
"""

from smgrad.checks.run import CHECKS, run, run_all
from smgrad.config import Config

__all__ = ["CHECKS", "Config", "run", "run_all"]

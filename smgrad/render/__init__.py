"""Finished results as people and CI jobs read them; nothing here computes.

``terminal`` is the table report (colour on a terminal, plain text for a file or an
assertion), ``ci`` the Markdown summary and JUnit XML, ``words`` what every format says
alike. The views of ``jacobian``, ``sweep`` and ``derive`` are in :mod:`smgrad.explain`.
"""

from smgrad.render.ci import junit_xml, markdown
from smgrad.render.terminal import plain_text, print_report
from smgrad.render.words import headline, verdict

__all__ = ["headline", "junit_xml", "markdown", "plain_text", "print_report", "verdict"]

"""Re-run every command shown in README.md and the other pages (docs/, benchmarks/,
examples/) and put its real output back in place.

Every ``$ smgrad ...`` line of a fenced block that starts with one is re-run at 80
columns, from the repository's root, and followed by its output. An output that elides part of itself with a line
``...`` keeps the same number of lines before and after the elision.

    python docs/update_readme.py [--check]

With ``--check`` nothing is written: the differences are printed as a unified diff and
the exit code is 1 if there are any (CI runs it so that the README cannot drift).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [
    README,
    *sorted((ROOT / "docs").glob("*.md")),
    *(ROOT / folder / "README.md" for folder in ("benchmarks", "examples")),
]
BLOCK = re.compile(r"```\n(\$ smgrad [^\n]*)\n(.*?)```", re.S)
# A JSON report shown abridged: the report of the command in the comment, with only the
# first derivative check kept and its entries elided.
ABRIDGED = re.compile(r"<!-- abridged: (smgrad [^\n]*) -->\n```json\n.*?```", re.S)


def run(command: str) -> list[str]:
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
    smgrad = Path(sys.executable).with_name("smgrad")  # the console script, as a user runs it
    args = [str(smgrad), *shlex.split(command[len("$ smgrad ") :])]
    done = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT)
    return [line.rstrip() for line in (done.stdout + done.stderr).rstrip("\n").splitlines()]


def refresh(match: re.Match) -> str:
    lines = [match.group(1), *match.group(2).rstrip("\n").splitlines()]
    starts = [i for i, line in enumerate(lines) if line.startswith("$ smgrad ")]
    out = []
    for start, end in zip(starts, [*starts[1:], len(lines)], strict=True):
        command, old = lines[start], lines[start + 1 : end]
        new = run(command)
        if "..." in old:
            cut = old.index("...")
            head, tail = cut, len(old) - cut - 1
            new = [*new[:head], "...", *new[len(new) - tail :]] if len(new) > head + tail else new
        out += [command, *new]
    return "```\n" + "\n".join(out) + "\n```"


def abridged(match: re.Match) -> str:
    report = json.loads("\n".join(run("$ " + match.group(1))))
    first = next(c for c in report["checks"] if c["method"] not in (None, "reference"))
    report["checks"] = [{**first, "entries": ["..."]}, "..."]
    text = json.dumps(report, indent=2).replace('"..."', "...")
    return f"<!-- abridged: {match.group(1)} -->\n```json\n{text}\n```"


def updated(text: str) -> str:
    """``text`` with every shown command's output as the command prints it now."""
    return ABRIDGED.sub(abridged, BLOCK.sub(refresh, text))


# A measured number as the tables print it (1.5e-64), or a lone 0; versions, counts and
# plain decimals are compared exactly.
NUMBER = re.compile(r"-?\d+(?:\.\d+)?e[-+]?\d+|(?<![\w.-])0(?![\w.])")
# Errors and allowances this small are rounding: which entry is worst among them, and so
# what it was allowed, follows the machine's exp and BLAS (an identity's row sums taken by
# OpenBLAS moved a shown allowance 40x, from 1.2e-14 to 4.7e-13, with every verdict the same).
ROUNDING = 1e-12


def _alike(old: str, new: str) -> bool:
    """The same words, indices and verdicts; measured numbers within a factor of 10, or
    both below :data:`ROUNDING`. What a correct run measures in its last digits differs
    from machine to machine (numpy's ``exp`` with AVX-512 or without it rounds
    differently, and the allowance for a shift is measured), and a page is not stale for
    that."""
    if " ".join(NUMBER.sub("#", old).split()) != " ".join(NUMBER.sub("#", new).split()):
        return False
    for a, b in zip(NUMBER.findall(old), NUMBER.findall(new), strict=True):
        x, y = abs(float(a)), abs(float(b))
        if max(x, y) < ROUNDING:
            continue
        if a.startswith("-") != b.startswith("-") or min(x, y) == 0 or max(x, y) > 10 * min(x, y):
            return False
    return True


def stale(text: str, name: str = "README.md") -> str:
    """A unified diff from ``text`` to what it should say; empty when it is current
    (to the last digits, :func:`_alike`)."""
    now = updated(text)
    old_lines, new_lines = text.splitlines(), now.splitlines()
    if len(old_lines) == len(new_lines) and all(map(_alike, old_lines, new_lines)):
        return ""
    diff = difflib.unified_diff(
        text.splitlines(keepends=True),
        now.splitlines(keepends=True),
        f"{name} (as committed)",
        f"{name} (as the commands print it now)",
    )
    return "".join(diff)


def main() -> None:
    stale_pages = []
    for page in PAGES:
        name = str(page.relative_to(ROOT))
        text = page.read_text()
        if "--check" in sys.argv:
            diff = stale(text, name)
            if diff:
                sys.stdout.write(diff)
                stale_pages.append(name)
        else:
            page.write_text(updated(text))
    if stale_pages:
        pages = ", ".join(stale_pages)
        print(f"stale: {pages}: run python docs/update_readme.py and commit the result", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

"""The command keeps freed memory for reuse in its own process (smgrad/allocator.py);
the library, called from a user's process, does not touch the allocator."""

from __future__ import annotations

import platform

import pytest
from conftest import invoke

import smgrad
from smgrad import allocator


def test_the_command_raises_the_thresholds_and_the_library_does_not(monkeypatch):
    calls = []
    monkeypatch.setattr(allocator, "keep_freed_pages", lambda: calls.append(1) or True)
    smgrad.check(dim=3, scenarios="typical")
    assert calls == []
    assert invoke("check", "--dim", "3", "--scenarios", "typical", "--quiet").exit_code == 0
    assert calls == [1]


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_glibc_takes_the_thresholds():
    assert allocator.keep_freed_pages() is True

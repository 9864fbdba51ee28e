"""Connector fixtures: the contract kit's in-memory intake and cursor store."""

from __future__ import annotations

import pytest

from qanat.testing import MemoryCursors, MemoryIntake


@pytest.fixture
def intake() -> MemoryIntake:
    """A fresh in-memory intake."""
    return MemoryIntake()


@pytest.fixture
def cursors() -> MemoryCursors:
    """A fresh in-memory cursor store."""
    return MemoryCursors()

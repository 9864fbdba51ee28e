"""Connector fixtures: the contract kit's in-memory intake and cursor store, a real Dovecot."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from qanat.testing import MemoryCursors, MemoryIntake
from tests.support.dovecot import Dovecot, DovecotMissing, start_dovecot


@pytest.fixture
def intake() -> MemoryIntake:
    """A fresh in-memory intake."""
    return MemoryIntake()


@pytest.fixture
def cursors() -> MemoryCursors:
    """A fresh in-memory cursor store."""
    return MemoryCursors()


@pytest.fixture(scope="session")
def dovecot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dovecot]:
    """A real Dovecot IMAP server on 127.0.0.1, unprivileged, in a temporary folder."""
    try:
        server = start_dovecot(tmp_path_factory.mktemp("dovecot"))
    except DovecotMissing as exc:
        if os.environ.get("QANAT_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{exc} (QANAT_REQUIRE_SERVICES=1)")
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()

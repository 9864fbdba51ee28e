"""What the jobs need of the running process: the protocol :mod:`qanat.runtime` meets.

Jobs (the nightly reconciliation, the SLA watch, reports) take these parts as handed in;
they never build them, and never import the composition root.
"""

from __future__ import annotations

from typing import Protocol

from qanat.ingest.base import Intake
from qanat.ingest.registry import Connectors
from qanat.jobs.queue import JobQueue
from qanat.outbound.deps import OutboundDeps
from qanat.router.rules import RoutingRules


class JobDeps(OutboundDeps, Protocol):
    """The store, settings, queue, intake, connectors and rules a job works with."""

    @property
    def queue(self) -> JobQueue:
        """Where jobs are queued (processing, sending)."""
        ...

    @property
    def intake(self) -> Intake:
        """Save-raw-first, for messages the night recovers."""
        ...

    @property
    def connectors(self) -> Connectors:
        """This process's connectors (the night lists their sources)."""
        ...

    def rules(self) -> RoutingRules:
        """The rules file in force."""
        ...

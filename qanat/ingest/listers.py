"""Which configured connector accounts can list their source, for the nightly gap check."""

from __future__ import annotations

from qanat.reconcile import SourceLister
from qanat.runtime import Runtime


def sources_for(runtime: Runtime) -> list[SourceLister]:
    """The listers of every configured account whose connector can list its source.

    Connectors that declare the ``list`` capability join here as they are configured;
    a channel without one is reconciled from the store alone (source count n/a).
    """
    return []

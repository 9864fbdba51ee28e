"""``qanat worker`` whose normalize stage fails on any message containing "poison".

Run as ``python -m tests.support.poison_worker`` by the fault tests: a real arq worker
process on the real queue, with one input made to break the pipeline every time.
"""

from __future__ import annotations

from typing import Any

from qanat.cli.main import app
from qanat.model import Inbound
from qanat.pipeline import batch

_real_normalize = batch.normalize


def _normalize_or_break(inbound: Inbound, *, region: str) -> Any:
    if "poison" in inbound.text:
        raise RuntimeError("poisoned on purpose")
    return _real_normalize(inbound, region=region)


if __name__ == "__main__":
    batch.normalize = _normalize_or_break  # type: ignore[assignment]
    app(["worker"])

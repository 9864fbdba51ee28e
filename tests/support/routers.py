"""Learned routers trained for tests, from (text, department) pairs."""

from __future__ import annotations

from collections.abc import Iterable

from qanat.router.learned import DEFAULT_THRESHOLD, LearnedRouter
from qanat.router.training import Example, TrainingSettings, train_router


def trained(
    pairs: Iterable[tuple[str, str]], threshold: float = DEFAULT_THRESHOLD
) -> LearnedRouter:
    """A router trained on ``pairs`` the way ``qanat router train`` trains one."""
    examples = [Example(text, department) for text, department in pairs]
    return train_router(examples, TrainingSettings(threshold=threshold))

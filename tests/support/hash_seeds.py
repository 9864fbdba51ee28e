"""Running a snippet under several string-hashing seeds, as several workers would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable


def printed_under_seeds(code: str, seeds: Iterable[int]) -> set[str]:
    """What ``code`` prints in a new Python process for each ``PYTHONHASHSEED``."""
    return {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in seeds
    }

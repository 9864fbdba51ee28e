"""qanat — one inbox for every channel citizens use to reach a government body."""

__version__ = "0.1.0"

"""The demo data set: realistic citizen messages across every channel."""

from pathlib import Path


def demo_messages_path() -> Path:
    """Where the packaged demo messages (JSON Lines, import format) live."""
    return Path(__file__).parent / "messages.jsonl"

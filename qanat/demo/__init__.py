"""The demo data set: three weeks of citizens' messages across every channel.

``messages.jsonl`` holds about 240 messages from 1–21 November 2026 in the
``qanat import`` format (one :class:`~qanat.model.Inbound` per line, in time order):
Arabic (Gulf dialect and Modern Standard), English, mixed and Arabizi texts on X,
Telegram, email, SMS, the call centre, the web form, the block representatives' app,
the weekly majlis and field visits. It holds groups of different citizens reporting
the same problem, near misses that must stay apart, follow-ups that reply to an
earlier message or quote a ticket reference, and citizens who use several channels.
Every name, number and address in it is invented.
"""

from __future__ import annotations

from pathlib import Path


def demo_messages_path() -> Path:
    """Where the packaged demo messages (JSON Lines, import format) live."""
    return Path(__file__).parent / "messages.jsonl"

"""Structured logs carry ids, never the citizen's text."""

from __future__ import annotations

import json
import logging

import pytest

from qanat.logs import JsonFormatter
from qanat.model import Inbound, Sender
from qanat.runtime import Runtime


async def test_one_json_line_per_processed_message_with_ids_only(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="qanat.pipeline")
    inbound = Inbound.model_validate(
        {
            "channel": "sms",
            "external_id": "SM1",
            "received_at": "2026-11-02T08:30:00+03:00",
            "sender": {"handle": "+97333123456"},
            "text": "طفح مجاري سري جدا",
        }
    )
    assert isinstance(inbound.sender, Sender)
    await runtime.intake.save(inbound)
    [record] = [r for r in caplog.records if r.getMessage() == "message processed"]
    line = json.loads(JsonFormatter().format(record))
    assert line["event"] == "message processed" and line["result"] == "created"
    assert isinstance(line["message_id"], int) and isinstance(line["ticket_id"], int)
    assert "طفح" not in json.dumps(line, ensure_ascii=False)
    assert "+97333123456" not in json.dumps(line)

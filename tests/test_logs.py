"""Structured logs carry ids, never the citizen's text."""

from __future__ import annotations

import json
import logging

import pytest

from qanat.logs import JsonFormatter, TextFormatter, formatter_for
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


def test_a_text_line_is_readable_with_its_ids_and_no_traceback() -> None:
    record = logging.LogRecord(
        "qanat.pipeline", logging.ERROR, __file__, 1, "failed %s", ("x",), None
    )
    record.message_id = 42
    record.color_message = "\x1b[36mfailed\x1b[0m"  # uvicorn's coloured copy: left out
    try:
        raise ValueError("bad value\nsecond line")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    line = TextFormatter().format(record)
    assert "\n" not in line and "Traceback" not in line and "\x1b" not in line
    assert " ERROR   qanat.pipeline: failed x message_id=42 error=ValueError: bad value" in line


def test_the_format_is_chosen_where_the_process_starts() -> None:
    assert isinstance(formatter_for("json"), JsonFormatter)
    assert isinstance(formatter_for("text"), TextFormatter)

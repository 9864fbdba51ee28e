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
    assert " ERROR   qanat.pipeline: failed x message_id=42 error=ValueError at " in line
    assert "test_logs.py" in line and "bad value" not in line  # the place, not the words


def test_the_format_is_chosen_where_the_process_starts() -> None:
    assert isinstance(formatter_for("json"), JsonFormatter)
    assert isinstance(formatter_for("text"), TextFormatter)


def test_an_exception_is_logged_by_class_and_place_never_by_its_message() -> None:
    try:
        raise ValueError("INSERT INTO message VALUES ('+97333123456')")
    except ValueError:
        record = logging.LogRecord("qanat.x", logging.ERROR, __file__, 1, "failed", None, None)
        import sys

        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["error"]["type"] == "ValueError"
    assert entry["error"]["at"] and "test_logs.py" in entry["error"]["at"][-1]
    for leaked in ("INSERT INTO", "+97333123456", "Traceback"):
        assert leaked not in line


def test_a_secret_in_a_logged_url_is_blanked() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", "/webhooks/sms/kannel?secret=gw-s3cret&x=1", "1.1", 200),
        None,
    )
    line = JsonFormatter().format(record)
    assert "gw-s3cret" not in line and "secret=…&x=1" in line


def test_the_queue_logs_job_ids_but_not_a_mails_addresses_or_text() -> None:
    def job_line(arguments: str) -> str:
        record = logging.LogRecord(
            "arq.worker",
            logging.INFO,
            __file__,
            1,
            "%6.2fs → %s(%s)%s",
            (0.01, "abc:send_staff_mail", arguments, ""),
            None,
        )
        return JsonFormatter().format(record)

    assert "send_staff_mail(42)" in job_line("42")  # an id shows
    mail = job_line("['sup@example.bh'], 'SLA', 'citizen +97333991177 wrote …'")
    assert "sup@example.bh" not in mail and "+97333991177" not in mail


def test_a_failed_job_is_logged_without_its_errors_message() -> None:
    record = logging.LogRecord(
        "arq.worker",
        logging.ERROR,
        __file__,
        1,
        "%6.2fs ! %s failed, %s: %s",
        (0.01, "abc:cron:sweep_waiting", "DataError", "[SQL: INSERT INTO message] +97333991177"),
        None,
    )
    line = JsonFormatter().format(record)
    assert "failed, DataError" in line and "INSERT" not in line and "+973" not in line

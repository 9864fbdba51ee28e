"""The Open311 client passes the connector contract kit (against a GeoReport v2 fake)."""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from qanat.ingest.open311.connector import SPEC
from qanat.model import Reply, Sender
from qanat.testing import ConnectorContractTests
from tests.support.fake_open311 import FakeGeoReport, recorded


class TestOpen311Contract(ConnectorContractTests):
    spec = SPEC
    account: ClassVar[dict[str, Any]] = {
        "account": "national",
        "endpoint": "https://national.example.bh/open311/v2",
        "api_key": "upstream-key",
        "first_days": 400,
        "page_size": 2,
    }

    def source(self) -> httpx.MockTransport:
        upstream = FakeGeoReport()
        upstream.requests = [
            r
            for r in recorded("chicago_requests_page1.json")
            + recorded("chicago_requests_page2.json")
        ]
        return upstream.transport()

    def reply(self) -> Reply:
        return Reply(
            ticket_reference="QN-2026-000001",
            channel="open311",
            account="national",
            to=Sender(handle="national:SR26-01830412"),
            text="تم تحويل البلاغ إلى قسم الطرق وسيتم إصلاح الحفرة خلال أسبوع.",
            in_reply_to=["SR26-01830412"],
        )

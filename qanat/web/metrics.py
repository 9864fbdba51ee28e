"""``/metrics``: Prometheus exposition computed from the store, for Prometheus only.

Counting from the store (not from in-process counters) gives the same answer whichever
API replica is scraped, and covers what every worker process did. The counts are
computed at most once per :data:`CACHE_S` per process — a scraper polling every second
costs one set of queries per half minute — and only Prometheus may ask: with
``QANAT_METRICS_TOKEN`` set, its ``Authorization: Bearer`` token; without one, only a
scraper on this machine (loopback).
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.errors import ForgedRequest
from qanat.store.tables import Message, ReconcileRun, utcnow
from qanat.web.deps import RuntimeDep

router = APIRouter()

#: Processing latency buckets (seconds), from receipt to processed.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
#: Latency is measured over this recent window so the histogram stays cheap.
LATENCY_WINDOW = timedelta(hours=24)
#: Seconds a computed exposition is served again before the store is asked anew.
CACHE_S = 30.0


class _Snapshot:
    """A collector that yields metric families computed beforehand."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        yield from self._families


async def _messages(session: AsyncSession) -> Metric:
    family = GaugeMetricFamily(
        "qanat_messages",
        "Messages stored, by channel, direction and state",
        labels=["channel", "direction", "state"],
    )
    rows = await session.execute(
        select(Message.channel, Message.direction, Message.state, func.count()).group_by(
            col(Message.channel), col(Message.direction), col(Message.state)
        )
    )
    for channel, direction, state, count in rows:
        family.add_metric([channel, direction, state], count)
    return family


async def _latency(session: AsyncSession) -> Metric:
    rows = await session.execute(
        select(Message.created_at, Message.processed_at).where(
            col(Message.processed_at).is_not(None),
            col(Message.processed_at) > utcnow() - LATENCY_WINDOW,
        )
    )
    seconds = [(processed - created).total_seconds() for created, processed in rows if processed]
    buckets: list[tuple[str, float]] = [
        (str(bound), float(sum(1 for s in seconds if s <= bound))) for bound in LATENCY_BUCKETS
    ]
    buckets.append(("+Inf", float(len(seconds))))
    family = HistogramMetricFamily(
        "qanat_processing_latency_seconds",
        "Seconds from saving a message to processing it (last 24 hours)",
    )
    family.add_metric([], buckets, sum_value=sum(seconds))
    return family


async def _reconciliation(session: AsyncSession) -> Metric:
    family = GaugeMetricFamily(
        "qanat_reconcile_last_ok",
        "1 when the latest reconciliation of a channel account found no mismatch",
        labels=["channel", "account"],
    )
    latest = (
        select(func.max(col(ReconcileRun.id)))
        .group_by(col(ReconcileRun.channel), col(ReconcileRun.account))
        .scalar_subquery()
    )
    rows = await session.execute(
        select(ReconcileRun.channel, ReconcileRun.account, ReconcileRun.status).where(
            col(ReconcileRun.id).in_(latest)
        )
    )
    for channel, account, status in rows:
        family.add_metric([channel, account], 1.0 if status == "ok" else 0.0)
    return family


async def _alerts(session: AsyncSession) -> Metric:
    # One alert per night that was not ok: its ledger lines share the night's window end.
    # Counted from the ledger (small, kept forever), not from the event table.
    family = CounterMetricFamily(
        "qanat_reconcile_alerts",
        "Reconciliation alerts raised: nights with a mismatch, or with a step that failed",
        labels=["kind"],
    )
    rows = await session.execute(
        select(ReconcileRun.status, func.count(func.distinct(col(ReconcileRun.window_end))))
        .where(col(ReconcileRun.status).in_(["mismatch", "failed"]))
        .group_by(col(ReconcileRun.status))
    )
    counts = dict(rows.all())
    family.add_metric(["mismatch"], counts.get("mismatch", 0))
    family.add_metric(["step_failed"], counts.get("failed", 0))
    return family


async def _channel_health(session: AsyncSession) -> list[Metric]:
    from qanat.store.tables import ChannelHealth

    errors = GaugeMetricFamily(
        "qanat_channel_errors",
        "Errors a channel account's connector reported",
        labels=["channel", "account"],
    )
    success = GaugeMetricFamily(
        "qanat_channel_last_success_timestamp_seconds",
        "When a channel account last polled or delivered successfully",
        labels=["channel", "account"],
    )
    for row in (await session.execute(select(ChannelHealth))).scalars():
        errors.add_metric([row.channel, row.account], row.error_count)
        if row.last_success_at:
            success.add_metric([row.channel, row.account], row.last_success_at.timestamp())
    return [errors, success]


async def _queue_depth(redis_url: str | None) -> list[Metric]:
    if not redis_url:
        return []
    from arq.constants import default_queue_name
    from redis.asyncio import Redis

    client: Any = Redis.from_url(redis_url)
    try:
        depth = await client.zcard(default_queue_name)
    finally:
        await client.aclose()
    family = GaugeMetricFamily("qanat_queue_depth", "Jobs waiting in the arq queue")
    family.add_metric([], depth)
    return [family]


def scraper_allowed(request: Request, token: str | None) -> bool:
    """True for Prometheus: the configured bearer token, or (none configured) loopback."""
    if token:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), token.encode())
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _exposition(runtime: RuntimeDep) -> bytes:
    async with runtime.db.session() as session:
        families = [
            await _messages(session),
            await _latency(session),
            await _reconciliation(session),
            await _alerts(session),
            *await _channel_health(session),
        ]
    families += await _queue_depth(runtime.settings.redis_url)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(families))
    return generate_latest(registry)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, runtime: RuntimeDep) -> Response:
    """Prometheus text exposition of qanat's counts, latency and reconciliation."""
    if not scraper_allowed(request, runtime.settings.metrics_token):
        raise ForgedRequest("/metrics needs the metrics token (QANAT_METRICS_TOKEN)")
    cached: tuple[float, bytes] | None = getattr(request.app.state, "metrics_cache", None)
    if cached is None or time.monotonic() - cached[0] > CACHE_S:
        cached = (time.monotonic(), await _exposition(runtime))
        request.app.state.metrics_cache = cached
    return Response(cached[1], media_type=CONTENT_TYPE_LATEST)

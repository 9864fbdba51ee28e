"""``/webhooks/{name}/{account}``: where every connector's webhooks are mounted.

qanat turns the HTTP request into a framework-free :class:`WebhookRequest`, hands it to
the account's connector, and sends back its answer; the connector answers only after
its messages are committed. qanat's errors map to status codes in ``qanat.web.app``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from qanat.errors import BadPayload, NotFound
from qanat.ingest.base import WebhookRequest
from qanat.web.deps import RuntimeDep

router = APIRouter(tags=["webhooks"])

#: No channel sends webhooks this large; refuse before reading more.
MAX_BODY = 1024 * 1024


# Not in the OpenAPI document: these are for the channels' servers, not API clients.
@router.api_route("/webhooks/{name}/{account}", methods=["GET", "POST"], include_in_schema=False)
@router.api_route(
    "/webhooks/{name}/{account}/{path:path}", methods=["GET", "POST"], include_in_schema=False
)
async def webhook(
    name: str, account: str, request: Request, runtime: RuntimeDep, path: str = ""
) -> Response:
    """Deliver a webhook to the connector of ``name`` / ``account``."""
    connector = runtime.connectors.get(name, account)
    if connector is None:
        raise NotFound(f"no {name} account {account!r} is configured")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise BadPayload(f"body of {declared} bytes is over the {MAX_BODY}-byte limit")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise BadPayload(f"body of {len(body)} bytes is over the {MAX_BODY}-byte limit")
    answer = await connector.receive(
        WebhookRequest(
            method=request.method,
            url=str(request.url),
            path=path,
            headers={k.lower(): v for k, v in request.headers.items()},
            query=dict(request.query_params),
            body=body,
        )
    )
    return Response(
        answer.body,
        status_code=answer.status,
        media_type=answer.content_type,
        headers=dict(answer.headers),
    )

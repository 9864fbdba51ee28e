"""tweepy's HTTP, carried by qanat's httpx client.

tweepy's ``Client`` builds its requests with ``requests`` (URL, parameters, OAuth 1.0a
signature or bearer token) and reads the answers itself (status codes, rate-limit
headers, JSON). :class:`HttpxAdapter` is a ``requests`` transport adapter mounted on
tweepy's session: it only carries the prepared request through the httpx client the
connector was handed, so every byte still comes from tweepy's own code while tests and
operators decide where it goes. tweepy is synchronous, so the connector runs it in a
worker thread and this adapter hands each request back to the event loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

#: Hosts tweepy sends to (its host is fixed in its code; X also answers on api.x.com).
X_HOSTS = ("https://api.twitter.com/", "https://api.x.com/")

#: Seconds a request may take before the waiting thread gives up.
DEFAULT_TIMEOUT_S = 60.0

T = TypeVar("T")


class HttpxAdapter(BaseAdapter):
    """Sends a ``requests`` request with an ``httpx.AsyncClient`` on the given event loop."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        super().__init__()
        self.client = client
        self._local = threading.local()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Use ``loop`` for requests made from the calling thread."""
        self._local.loop = loop

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Carry ``request`` over httpx and give tweepy a ``requests.Response`` back."""
        loop: asyncio.AbstractEventLoop | None = getattr(self._local, "loop", None)
        if loop is None:
            raise RuntimeError("HttpxAdapter used outside run_in_thread")
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        if not isinstance(body, bytes):
            raise TypeError("tweepy sends JSON or form bodies, never streams")
        headers = {
            name: value.decode("latin-1") if isinstance(value, bytes) else value
            for name, value in request.headers.items()
        }
        outgoing = httpx.Request(
            request.method or "GET", request.url or "", headers=headers, content=body
        )
        waiting = asyncio.run_coroutine_threadsafe(self.client.send(outgoing), loop)
        seconds = timeout if isinstance(timeout, int | float) else DEFAULT_TIMEOUT_S
        try:
            answer = waiting.result(timeout=seconds)
        except TimeoutError as exc:  # the loop never answered in time: give up on it
            waiting.cancel()
            raise requests.Timeout(f"no answer from X in {seconds} s", request=request) from exc
        except httpx.TimeoutException as exc:
            raise requests.Timeout(str(exc), request=request) from exc
        except httpx.HTTPError as exc:
            raise requests.ConnectionError(str(exc), request=request) from exc
        return _as_requests_response(answer, request)

    def close(self) -> None:
        """Nothing to close: the runtime owns the httpx client."""


def _as_requests_response(
    answer: httpx.Response, request: requests.PreparedRequest
) -> requests.Response:
    response = requests.Response()
    response.status_code = answer.status_code
    response.reason = answer.reason_phrase
    # httpx already decoded any gzip: the body is plain, so its encoding header goes.
    headers = {k: v for k, v in answer.headers.items() if k.lower() != "content-encoding"}
    response.headers = CaseInsensitiveDict(headers)
    response._content = answer.content
    response._content_consumed = True
    response.encoding = answer.encoding
    response.url = str(answer.url)
    response.request = request
    return response


def mount(session: requests.Session, adapter: HttpxAdapter) -> None:
    """Route tweepy's requests to X through ``adapter``."""
    for host in X_HOSTS:
        session.mount(host, adapter)


async def run_in_thread(adapter: HttpxAdapter, call: Callable[[], T]) -> T:
    """Run a blocking tweepy call in a worker thread; its requests come back to this loop."""
    loop = asyncio.get_running_loop()

    def bound() -> T:
        adapter.bind(loop)
        return call()

    return await asyncio.to_thread(bound)

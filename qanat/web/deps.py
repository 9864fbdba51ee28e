"""Dependencies that keep route signatures short."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from qanat.runtime import Runtime


def runtime_of(request: Request) -> Runtime:
    """The running process's runtime (built in the app's lifespan)."""
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_runtime(request: Request) -> Runtime:
    """The runtime as a dependency. A coroutine though it awaits nothing: FastAPI runs a
    plain function dependency in a thread, a hop every request paid (6 % of serve's CPU
    under webhook load)."""
    return runtime_of(request)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A read session for one request."""
    async with runtime_of(request).db.session() as session:
        yield session


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]

#: The largest id a row can have (a PostgreSQL ``integer``): a larger one names nothing.
MAX_ROW_ID = 2**31 - 1
#: A row id in a path (a ticket's message, an attachment, a token): bounded, so an id
#: beyond the column's range is a 422 with the reason, not an overflow in the store.
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="a row id (1 to 2^31-1)")]
#: How many rows a listing returns at most.
MAX_PAGE = 1000
#: A listing's ``limit`` query parameter (1 to 1000).
PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="rows to return (1-1000)")]
#: A live stream's "events after this id" parameter.
AfterId = Annotated[int | None, Query(ge=0, le=2**63 - 1, description="last event id seen")]

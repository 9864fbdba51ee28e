"""Open311 clients' API keys: the admins' API (the CLI is ``qanat open311 key``).

One key per client (an app, a partner's system), named for it. A key is shown once,
when it is made; the store keeps only its sha256, so a copy of the database lets no
client in. Revoking takes effect at the client's next request.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from qanat.errors import BadPayload, NotFound
from qanat.store import audit
from qanat.store import open311 as keys_store
from qanat.store.tables import utcnow
from qanat.web import schemas
from qanat.web.auth import AccountKeeper, client_ip
from qanat.web.deps import RuntimeDep

router = APIRouter(prefix="/open311/keys", tags=["admin"])


class KeyIn(BaseModel):
    """A new Open311 client."""

    name: str = Field(min_length=1, max_length=120)
    #: A partner system that may post status updates to qanat's service requests.
    updates: bool = False


@router.get("", response_model=list[schemas.Open311Key])
async def list_keys(runtime: RuntimeDep, viewer: AccountKeeper) -> list[dict[str, Any]]:
    """Every Open311 client's key (never the key itself)."""
    async with runtime.db.session() as session:
        return await keys_store.keys(session)


@router.post("", status_code=201, response_model=schemas.Open311Key)
async def create_key(
    request: Request, runtime: RuntimeDep, viewer: AccountKeeper, body: KeyIn
) -> dict[str, Any]:
    """Issue a key for a client; the key is in this answer only."""
    async with runtime.db.writing() as session:
        try:
            key, secret = await keys_store.create_key(
                session, name=body.name, created_by_id=viewer.user_id, updates=body.updates
            )
        except ValueError as exc:
            raise BadPayload(str(exc)) from exc
        await audit.record(
            session,
            viewer=viewer,
            action="open311_key_created",
            detail={"name": body.name},
            ip=client_ip(request),
        )
    return {
        "id": key.id,
        "name": key.name,
        "api_key": secret,
        "prefix": key.prefix,
        "updates": key.updates,
    }


@router.delete("/{name}", response_model=schemas.KeyRevoked, response_model_exclude_unset=True)
async def revoke_key(
    request: Request, runtime: RuntimeDep, viewer: AccountKeeper, name: str
) -> dict[str, str]:
    """Revoke a client's key at once."""
    async with runtime.db.writing() as session:
        if not await keys_store.revoke_key(session, name=name, now=utcnow()):
            raise NotFound(f"no live Open311 key named {name!r}")
        await audit.record(
            session,
            viewer=viewer,
            action="open311_key_revoked",
            detail={"name": name},
            ip=client_ip(request),
        )
    return {"revoked": name}

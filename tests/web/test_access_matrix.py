"""Every role against every route: who may, who is refused (403), who cannot even see (404).

The target ticket is in the sewage department. Each (route, role) pair gets its own fresh
ticket, so one role's change never decides another role's answer. ``login`` means a
person's browser is sent to the log-in page.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI
from sqlmodel import col, select

from qanat.model import Attachment, Inbound, Sender
from qanat.outbound import replies
from qanat.runtime import Runtime
from qanat.store import staff
from qanat.store.access import Viewer
from qanat.store.tables import Attachment as AttachmentRow
from qanat.store.tables import Message, Ticket, User
from qanat.web import work
from tests.web.conftest import Login, bearer_client

ROLES = ("anonymous", "admin", "sup_sewage", "agent_sewage", "agent_roads", "rep305", "token")
_numbers = itertools.count(1)


@dataclass(frozen=True)
class Route:
    """A route, how to call it, and the answer per role (in :data:`ROLES` order)."""

    method: str
    path: str
    expect: str
    json: dict[str, Any] | None = None
    form: dict[str, str] | None = None
    needs: tuple[str, ...] = field(default=())


READ_ALL = "401 200 200 200 200 200 200"
SEE_SEWAGE = "401 200 200 200 404 404 200"
WORK = "401 {ok} {ok} {ok} 404 404 403"
SUPERVISE = "401 {ok} {ok} 403 404 404 403"
REPORTS = "401 200 200 403 403 403 200"
ADMIN = "401 200 403 403 403 403 200"
ACCOUNTS = "401 {ok} 403 403 403 403 403"


def pages(expect: str) -> str:
    """A page answers an anonymous visitor by sending them to log in."""
    return "login " + expect.split(" ", 1)[1]


ROUTES = (
    # The REST API.
    Route("GET", "/api/me", READ_ALL),
    Route("GET", "/api/tickets", READ_ALL),
    Route("GET", "/api/tickets/{T}", SEE_SEWAGE),
    Route("PATCH", "/api/tickets/{T}", WORK.format(ok=200), json={"priority": "high"}),
    Route("POST", "/api/tickets/{T}/replies", WORK.format(ok=201), json={"text": "شكرا {name}"}),
    Route("POST", "/api/tickets/{T}/notes", WORK.format(ok=201), json={"text": "ملاحظة"}),
    Route("POST", "/api/tickets/{T}/take", WORK.format(ok=200)),
    Route("POST", "/api/tickets/{T}/assign", SUPERVISE.format(ok=200), json={"username": "admin"}),
    Route(
        "POST",
        "/api/tickets/{T}/transfer",
        SUPERVISE.format(ok=200),
        json={"department": "roads", "reason": "حفرة لا مجاري"},
    ),
    Route(
        "PUT",
        "/api/tickets/{T}/primary",
        WORK.format(ok=200),
        json={"primary_reference": "{P}"},
        needs=("primary",),
    ),
    Route("DELETE", "/api/tickets/{T}/primary", WORK.format(ok=200), needs=("linked",)),
    Route(
        "POST",
        "/api/tickets/{T}/replies/{M}/delivered",
        WORK.format(ok=200),
        needs=("by_hand",),
    ),
    Route(
        "POST",
        "/api/tickets/{T}/contact/merge",
        WORK.format(ok=200),
        json={"reference": "{P}"},
        needs=("primary",),
    ),
    Route(
        "POST",
        "/api/tickets/{T}/contact/unmerge",
        WORK.format(ok=200),
        json={"merge_id": "{G}"},
        needs=("merged",),
    ),
    Route("GET", "/api/summary", ADMIN),
    Route("GET", "/api/dead-letters", ADMIN),
    Route("POST", "/api/dead-letters/{D}/retry", "401 200 403 403 403 403 403", needs=("dead",)),
    Route("GET", "/api/canned-replies", "401 200 200 200 200 403 200"),
    Route(
        "POST",
        "/api/submissions",
        "401 201 403 403 403 201 403",
        json={"text": "انقطاع الإنارة في الطريق 12"},
    ),
    Route("GET", "/api/audit", ADMIN),
    Route("GET", "/api/dashboard", REPORTS),
    Route("GET", "/api/tokens", ACCOUNTS.format(ok=200)),
    Route(
        "POST",
        "/api/tokens",
        ACCOUNTS.format(ok=201),
        json={"name": "app", "username": "rep305", "scopes": ["submit"]},
    ),
    Route("DELETE", "/api/tokens/{K}", ACCOUNTS.format(ok=200), needs=("token",)),
    Route("GET", "/api/calls/missed", "401 200 200 200 200 403 200"),
    Route(
        "POST",
        "/api/entries",
        "401 201 201 201 201 403 403",
        json={"channel": "walk_in", "text": "مراجع يشكو من حفرة في طريق 12"},
    ),
    Route("GET", "/api/coverage", REPORTS),
    Route("GET", "/api/open311/keys", ACCOUNTS.format(ok=200)),
    Route("POST", "/api/open311/keys", ACCOUNTS.format(ok=201), json={"name": "client {T}"}),
    Route(  # only a token with the app scope (tests/web/test_app_api.py)
        "POST",
        "/api/app/reports",
        "401 403 403 403 403 403 403",
        json={"client_id": "matrix-0001", "text": "حفرة", "phone": "33445566"},
    ),
    # The pages and their forms.
    Route("GET", "/inbox", pages(READ_ALL)),
    Route("GET", "/api/inbox/counts", READ_ALL),
    Route(  # another department's ticket is "not found" in the answer, not a refusal
        "POST",
        "/api/tickets/bulk",
        "401 200 200 200 200 403 403",
        json={"references": ["{T}"], "action": "close", "reason": "تكرار"},
    ),
    Route(
        "POST",
        "/inbox/views",
        "login 303 303 303 303 303 403",
        form={"name": "view {T}", "query": "queue=all&sort=due"},
    ),
    Route("GET", "/inbox/rows?references={T}", pages(READ_ALL)),
    Route("GET", "/tickets/{T}", pages(SEE_SEWAGE)),
    Route("POST", "/tickets/{T}/update", pages(WORK.format(ok=303)), form={"text": "تم"}),
    Route(
        "POST",
        "/tickets/{T}/update",
        pages(WORK.format(ok=303)),
        form={"mode": "note", "text": "داخلي"},
    ),
    Route(
        "POST",
        "/tickets/{T}/update",
        "login 303 303 303 404 404 403",
        form={"assignee": "agent_sewage", "assignee_was": ""},
    ),
    Route(  # an agent may not give a ticket to someone else: marked beside the field
        "POST",
        "/tickets/{T}/update",
        "login 303 303 422 404 404 403",
        form={"assignee": "sup_sewage", "assignee_was": ""},
    ),
    Route(
        "POST",
        "/tickets/{T}/update",
        "login 303 303 422 404 404 403",
        form={"department": "roads", "department_was": "sewage", "reason": "ليست مجاري"},
    ),
    Route(
        "POST",
        "/tickets/{T}/update",
        pages(WORK.format(ok=303)),
        form={"status": "pending", "status_was": "new"},
    ),
    Route(
        "POST",
        "/tickets/{T}/update",
        pages(WORK.format(ok=303)),
        form={"kind": "request", "kind_was": "complaint"},
    ),
    Route("GET", "/tickets/{T}/parts", pages(SEE_SEWAGE)),
    Route(
        "POST",
        "/tickets/{T}/link",
        pages(WORK.format(ok=303)),
        form={"primary_reference": "{P}"},
        needs=("primary",),
    ),
    Route(
        "POST",
        "/tickets/{T}/unlink",
        pages(WORK.format(ok=303)),
        form={"reason": "مشكلة أخرى"},
        needs=("linked",),
    ),
    Route(
        "POST",
        "/tickets/{T}/replies/{M}/delivered",
        pages(WORK.format(ok=303)),
        needs=("by_hand",),
    ),
    Route(
        "POST",
        "/tickets/{T}/merge-contact",
        pages(WORK.format(ok=303)),
        form={"other": "{P}"},
        needs=("primary",),
    ),
    Route(
        "POST",
        "/tickets/{T}/unmerge-contact",
        pages(WORK.format(ok=303)),
        form={"merge_id": "{G}"},
        needs=("merged",),
    ),
    Route("GET", "/attachments/{A}", pages(SEE_SEWAGE), needs=("attachment",)),
    Route("GET", "/attachments/{A}/preview", pages(SEE_SEWAGE), needs=("attachment",)),
    Route("GET", "/dashboard", pages(REPORTS)),
    Route("GET", "/dashboard/performance.csv", pages(REPORTS)),
    Route("GET", "/export/tickets.csv", pages(REPORTS)),
    Route("GET", "/dead-letters", pages(ADMIN)),
    Route("POST", "/dead-letters/{D}/retry", "login 303 403 403 403 403 403", needs=("dead",)),
    Route("GET", "/admin/tokens", pages(ACCOUNTS.format(ok=200))),
    Route("POST", "/admin/tokens/{K}/revoke", pages(ACCOUNTS.format(ok=303)), needs=("token",)),
    Route("GET", "/admin/audit", pages(ADMIN)),
    Route("GET", "/admin/ledger", pages(ADMIN)),
    Route("GET", "/admin/channels", pages(ADMIN)),
    Route("GET", "/settings/users", pages(ACCOUNTS.format(ok=200))),
    Route("GET", "/settings/users/{U}", pages(ACCOUNTS.format(ok=200)), needs=("user",)),
    Route(
        "POST",
        "/settings/users/{U}",
        pages(ACCOUNTS.format(ok=303)),
        form={
            "display_name": "agent roads",
            "role": "agent",
            "department": "roads",
            "languages": "ar",
        },
        needs=("user",),
    ),
    Route(
        "POST", "/settings/users/{U}/reset-link", pages(ACCOUNTS.format(ok=200)), needs=("user",)
    ),
    Route("GET", "/settings", pages(ADMIN)),
    Route("GET", "/settings/departments", pages(ADMIN)),
    Route("GET", "/settings/departments/roads", pages(ADMIN)),
    Route(
        "POST",
        "/settings/departments/roads",
        "login 303 403 403 403 403 403",
        form={"name_ar": "الطرق", "name_en": "Roads", "working_hours": "07:00-14:15"},
    ),
    Route("GET", "/settings/canned", pages(ADMIN)),
    Route("GET", "/settings/canned/new", pages(ADMIN)),
    Route(
        "POST",
        "/settings/canned",
        "login 303 403 403 403 403 403",
        form={
            "key": "matrix_reply",
            "name_ar": "أ",
            "name_en": "a",
            "text_ar": "نص",
            "text_en": "text",
            "active": "1",
        },
    ),
    Route("GET", "/settings/notices", pages(ADMIN)),
    Route("GET", "/settings/notices/ack", pages(ADMIN)),
    Route(
        "POST",
        "/settings/notices/ack",
        "login 303 403 403 403 403 403",
        form={"text_ar": "وصلنا {what}: {reference}", "text_en": "We got {what}: {reference}"},
    ),
    Route("GET", "/settings/rules", pages(ADMIN)),
    Route("GET", "/settings/rules.yaml", pages(ADMIN)),
    Route(
        "POST",
        "/settings/rules",
        "login 422 403 403 403 403 403",
        form={"text": "nothing: here", "action": "check"},
    ),
    Route("GET", "/settings/sla", pages(ADMIN)),
    Route("GET", "/reset/not-a-token", "404 404 404 404 404 404 404"),
    Route(
        "POST",
        "/admin/users",
        pages(ACCOUNTS.format(ok=303)),
        form={
            "username": "matrix_user",
            "display_name": "x",
            "role": "agent",
            "password": "long enough password",
        },
    ),
    Route(
        "POST",
        "/admin/users/{U}/active",
        pages(ACCOUNTS.format(ok=303)),
        form={"active": "true"},
        needs=("user",),
    ),
    Route("GET", "/submit", "login 200 403 403 403 200 403"),
    Route("POST", "/submit", "login 200 403 403 403 200 403", form={"text": "حفرة في الطريق"}),
    Route("GET", "/log", "login 200 200 200 200 403 200"),
    Route(
        "POST",
        "/log",
        "login 200 200 200 200 403 403",
        form={"channel": "letter", "text": "خطاب عن انقطاع الإنارة"},
    ),
    Route("GET", "/coverage", pages(REPORTS)),
    # The public form and Open311 are for everyone.
    Route("GET", "/report", "200 200 200 200 200 200 200"),
    Route("GET", "/report/status", "200 200 200 200 200 200 200"),
    Route("GET", "/open311/v2/services.json", "200 200 200 200 200 200 200"),
    Route("GET", "/account", pages(READ_ALL)),
    Route("POST", "/account/language", "login 303 303 303 303 303 403", form={"language": "en"}),
)

#: A one-pixel PNG, for the attachment routes.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


async def fresh_ticket(runtime: Runtime, **extra: Any) -> tuple[str, int]:
    """A new sewage ticket through the real intake; its reference and message id."""
    n = next(_numbers)
    saved = await runtime.intake.save(
        Inbound(
            channel="sms",
            external_id=f"matrix-{n}",
            received_at=datetime(2026, 11, 10, 8, 0, tzinfo=UTC),
            sender=Sender(handle=f"+9733300{n:04d}", phone=f"+9733300{n:04d}"),
            text=f"طفح مجاري في مجمع 305 بلاغ {n}",
            department="sewage",
            **extra,
        )
    )
    async with runtime.db.session() as session:
        reference = (
            await session.execute(
                select(Ticket.reference)
                .join(Message, col(Message.ticket_id) == col(Ticket.id))
                .where(col(Message.id) == saved.message_id)
            )
        ).scalar_one()
    return reference, saved.message_id


async def admin_viewer(runtime: Runtime) -> Viewer:
    async with runtime.db.session() as session:
        user = (await session.execute(select(User).where(User.username == "admin"))).scalar_one()
    return staff.viewer_of(user)


async def prepare(runtime: Runtime, route: Route) -> dict[str, Any]:
    """The placeholders of ``route``'s path and body, each made fresh for this call."""
    values: dict[str, Any] = {}
    values["T"], _ = await fresh_ticket(runtime)
    if {"primary", "linked", "merged"} & set(route.needs):
        values["P"], _ = await fresh_ticket(runtime)
    if "linked" in route.needs:
        await work.link(
            runtime, work.Request(await admin_viewer(runtime)), values["T"], values["P"]
        )
    if "merged" in route.needs:
        admin = work.Request(await admin_viewer(runtime))
        values["G"] = await work.merge_contact(runtime, admin, values["T"], values["P"])
    if "by_hand" in route.needs:
        result = await work.reply(
            runtime, work.Request(await admin_viewer(runtime)), values["T"], "x"
        )
        assert result.state == replies.BY_HAND
        values["M"] = result.message_id
    if "dead" in route.needs:
        n = next(_numbers)
        saved = await runtime.intake.dead_letter(
            Inbound(
                channel="telegram",
                external_id=f"dead-{n}",
                received_at=datetime(2026, 11, 10, 8, 0, tzinfo=UTC),
                sender=Sender(handle="42"),
                text="?",
            ),
            "BadPayload: test",
        )
        values["D"] = saved.message_id
    if "token" in route.needs:
        async with runtime.db.writing() as session:
            token, _secret = await staff.create_api_token(
                session, name="x", user_id=1, scopes=["read"], created_by_id=None
            )
        values["K"] = token.id
    if "user" in route.needs:
        async with runtime.db.session() as session:
            values["U"] = (
                await session.execute(select(User.id).where(User.username == "agent_roads"))
            ).scalar_one()
    if "attachment" in route.needs:
        picture = Attachment(
            name="pipe.png", content_type="image/png", size=len(PIXEL), content=PIXEL
        )
        values["T"], message_id = await fresh_ticket(runtime, attachments=[picture])
        async with runtime.db.session() as session:
            values["A"] = (
                await session.execute(
                    select(AttachmentRow.id).where(AttachmentRow.message_id == message_id)
                )
            ).scalar_one()
    return values


def fill(template: Any, values: dict[str, Any]) -> Any:
    """``template`` with ``{T}``-style placeholders replaced, through dicts."""
    if isinstance(template, str):
        for key, value in values.items():
            template = template.replace("{" + key + "}", str(value))
        return template
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    return template


def outcome(response: httpx.Response) -> str:
    """The status code, or ``login`` for a redirect to the log-in page."""
    if response.status_code == 303 and response.headers["location"].startswith("/login"):
        return "login"
    return str(response.status_code)


async def test_every_role_against_every_route(
    app: FastAPI, seeded: Runtime, login: Login, anonymous: httpx.AsyncClient, team: dict[str, int]
) -> None:
    token_client, _ = await bearer_client(app, seeded, user_id=team["admin"], scopes=["read"])
    clients: dict[str, httpx.AsyncClient] = {"anonymous": anonymous, "token": token_client}
    for username in ROLES[1:-1]:
        clients[username] = await login(username)
    mismatches = []
    for route in ROUTES:
        assert len(route.expect.split()) == len(ROLES), route
        shared = await prepare(seeded, route)
        for role, expected in zip(ROLES, route.expect.split(), strict=True):
            # A change that should succeed gets a fresh target; refusals and reads share one
            # (a refusal that wrongly succeeds is reported whatever it did to the target).
            changes = route.method != "GET" and expected in ("200", "201", "303")
            values = await prepare(seeded, route) if changes else shared
            response = await clients[role].request(
                route.method,
                fill(route.path, values),
                json=fill(route.json, values),
                data=fill(route.form, values),
            )
            if outcome(response) != expected:
                mismatches.append(
                    f"{route.method} {route.path} as {role}: expected {expected}, "
                    f"got {outcome(response)} {response.text[:120]!r}"
                )
    await token_client.aclose()
    assert mismatches == [], "\n".join(mismatches)

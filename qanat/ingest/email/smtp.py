"""Receiving email over SMTP: an aiosmtpd listener for the body's own domains.

Mail is accepted only for the configured recipient domains (never an open relay), read
with :func:`qanat.ingest.email.mime.parse_email`, and answered ``250`` only after the intake
committed the raw message; a store that cannot commit answers ``451`` so the sending
MTA retries later. Run it inside the application's event loop with :func:`serve_smtp`
or :func:`run_smtp`, or on its own thread with :func:`start_smtp_server`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from qanat.errors import BadPayload, ChannelUnavailable
from qanat.ingest.base import Intake, SaveResult
from qanat.ingest.email.mime import parse_email
from qanat.model import Inbound, Sender

log = logging.getLogger(__name__)

#: Largest message accepted (bytes), as in the settings' default.
DEFAULT_DATA_SIZE_LIMIT = 25 * 1024 * 1024

#: Checks a submitter's user name and password (AUTH PLAIN / LOGIN).
PasswordCheck = Callable[[str, str], bool]

T = TypeVar("T")


class SmtpIntakeHandler:
    """aiosmtpd handler: RCPT only for our domains, DATA saved through the intake.

    ``intake_loop`` is the event loop the intake belongs to (a database engine is tied
    to its loop); when the server runs on another loop (the threaded controller),
    saves are handed to that loop.
    """

    def __init__(
        self,
        intake: Intake,
        *,
        domains: set[str],
        account: str = "smtp",
        data_size_limit: int = DEFAULT_DATA_SIZE_LIMIT,
        attachment_max_bytes: int | None = None,
        intake_loop: asyncio.AbstractEventLoop | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not domains:
            raise ValueError("SMTP needs at least one recipient domain (QANAT_SMTP_DOMAINS)")
        self.intake = intake
        self.domains = {domain.strip().lower().rstrip(".") for domain in domains}
        self.account = account
        self.data_size_limit = data_size_limit
        self.attachment_max_bytes = attachment_max_bytes
        self.intake_loop = intake_loop
        self.clock = clock

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        """Accept a recipient only in one of our domains: we never relay."""
        domain = address.rpartition("@")[2].strip().lower().rstrip(".")
        if "@" not in address or domain not in self.domains:
            log.info("smtp: refused a recipient in another domain")
            ours = ", ".join(sorted(self.domains))
            return f"550 5.7.1 Relaying denied: this server accepts mail for {ours} only"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Parse, commit, and only then answer 250; 451 when the store cannot commit."""
        raw = envelope.original_content or b""
        try:
            inbound = await asyncio.to_thread(  # parsing 25 MB must not stall the loop
                parse_email,
                raw,
                account=self.account,
                received_at=self.clock(),
                envelope_from=envelope.mail_from,
                attachment_max_bytes=self.attachment_max_bytes,
            )
        except BadPayload as exc:
            return f"554 5.6.0 Message refused: {exc}"
        except Exception as exc:  # mail qanat cannot read is still the citizen's: kept raw
            log.warning("smtp: a mail could not be parsed (%s)", type(exc).__name__)
            inbound = unreadable_mail(raw, self.account, self.clock(), envelope.mail_from)
            reason = f"the mail could not be read: {type(exc).__name__}"
            return await self._store(self.intake.dead_letter(inbound, reason))
        inbound.metadata["envelope"] = {
            "mail_from": envelope.mail_from,
            "rcpt_to": list(envelope.rcpt_tos),
            "peer": str(session.peer[0]) if session.peer else None,
            "helo": session.host_name,
            "authenticated_as": _login_name(session),
        }
        return await self._store(self.intake.save(inbound))

    async def _store(self, saving: Awaitable[SaveResult]) -> str:
        """250 once committed; 451 only while the store is unavailable (the intake keeps
        a message whose fields the store refuses, so data never earns a 451)."""
        try:
            result = await self._on_intake_loop(saving)
        except ChannelUnavailable:
            log.warning("smtp: store unavailable, mail deferred")
            return "451 4.3.0 Message not stored, try again later"
        except BadPayload as exc:
            return f"554 5.6.0 Message refused: {exc}"
        except Exception as exc:  # a fault of ours, not the mail's: the MTA keeps it
            log.error("smtp: saving a mail failed (%s)", type(exc).__name__, exc_info=True)
            return "451 4.3.0 Message not stored, try again later"
        return _accepted(result)

    async def _on_intake_loop(self, work: Awaitable[T]) -> T:
        current = asyncio.get_running_loop()
        if self.intake_loop is None or self.intake_loop is current:
            return await work
        future = asyncio.run_coroutine_threadsafe(_awaited(work), self.intake_loop)
        return await asyncio.wrap_future(future)


def unreadable_mail(
    raw: bytes, account: str, received_at: datetime, mail_from: str | None
) -> Inbound:
    """A bare record for mail the parser failed on, keyed by its bytes' hash, so the
    MTA's retry of the same bytes is recognised."""
    digest = hashlib.sha256(raw).hexdigest()
    return Inbound(
        channel="email",
        account=account,
        external_id=f"sha256:{digest}",
        received_at=received_at,
        sender=Sender(handle=mail_from or "unknown"),
        raw=raw,
    )


async def _awaited(work: Awaitable[T]) -> T:
    return await work


def _accepted(result: SaveResult) -> str:
    if result.created:
        return f"250 2.0.0 OK stored as message {result.message_id}"
    return f"250 2.0.0 OK already stored as message {result.message_id}"


def _login_name(session: Session) -> str | None:
    return str(session.auth_data) if session.authenticated else None


def tls_context(certfile: str, keyfile: str | None = None) -> ssl.SSLContext:
    """A server TLS context for STARTTLS from a certificate (and key) file."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    return context


def _authenticator(check: PasswordCheck) -> Callable[..., AuthResult]:
    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        return AuthResult(success=bool(check(user, password)), handled=False, auth_data=user)

    return authenticate


def smtp_options(
    *,
    hostname: str,
    data_size_limit: int = DEFAULT_DATA_SIZE_LIMIT,
    tls: ssl.SSLContext | None = None,
    password_check: PasswordCheck | None = None,
    allow_auth_without_tls: bool = False,
) -> dict[str, Any]:
    """aiosmtpd ``SMTP`` keyword arguments for qanat's listener.

    AUTH is offered only with a ``password_check``, and only over TLS unless
    ``allow_auth_without_tls`` (a trusted internal network). AUTH is never required:
    citizens' mail arrives from other MTAs, which do not authenticate.
    """
    options: dict[str, Any] = {
        "hostname": hostname,  # given, so aiosmtpd never waits on a reverse DNS lookup
        "data_size_limit": data_size_limit,
        "enable_SMTPUTF8": True,
        "tls_context": tls,
        "auth_require_tls": password_check is None or not allow_auth_without_tls,
        "auth_required": False,
        "ident": "qanat ESMTP",
    }
    if password_check is not None:
        options["authenticator"] = _authenticator(password_check)
    else:
        options["auth_exclude_mechanism"] = ["LOGIN", "PLAIN"]
    return options


async def serve_smtp(
    intake: Intake,
    host: str,
    port: int,
    *,
    domains: set[str],
    account: str = "smtp",
    hostname: str | None = None,
    data_size_limit: int = DEFAULT_DATA_SIZE_LIMIT,
    attachment_max_bytes: int | None = None,
    tls: ssl.SSLContext | None = None,
    password_check: PasswordCheck | None = None,
    allow_auth_without_tls: bool = False,
) -> asyncio.Server:
    """Start listening in the running event loop (the one the intake belongs to).

    Returns the asyncio server; ``port=0`` picks a free port (see ``server.sockets``).
    Close it with ``server.close(); await server.wait_closed()``.
    """
    handler = SmtpIntakeHandler(
        intake,
        domains=domains,
        account=account,
        data_size_limit=data_size_limit,
        attachment_max_bytes=attachment_max_bytes,
    )
    options = smtp_options(
        hostname=hostname or sorted(handler.domains)[0],
        data_size_limit=data_size_limit,
        tls=tls,
        password_check=password_check,
        allow_auth_without_tls=allow_auth_without_tls,
    )
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: SMTP(handler, loop=loop, **options), host, port)


async def run_smtp(intake: Intake, host: str, port: int, **options: Any) -> None:
    """Serve SMTP until cancelled (``qanat smtp``); takes :func:`serve_smtp`'s options."""
    server = await serve_smtp(intake, host, port, **options)
    address = server.sockets[0].getsockname() if server.sockets else (host, port)
    log.info("smtp: listening on %s:%s for %s", address[0], address[1], options.get("domains"))
    try:
        await server.serve_forever()
    finally:
        server.close()
        await server.wait_closed()


def start_smtp_server(
    intake: Intake,
    host: str,
    port: int,
    *,
    domains: set[str],
    account: str = "smtp",
    hostname: str | None = None,
    data_size_limit: int = DEFAULT_DATA_SIZE_LIMIT,
    attachment_max_bytes: int | None = None,
    tls: ssl.SSLContext | None = None,
    password_check: PasswordCheck | None = None,
    allow_auth_without_tls: bool = False,
    intake_loop: asyncio.AbstractEventLoop | None = None,
) -> Controller:
    """Start the listener on its own thread and event loop; ``controller.stop()`` ends it.

    Saves run on ``intake_loop`` when given (an intake bound to the application's
    loop), else on the listener's own loop.
    """
    handler = SmtpIntakeHandler(
        intake,
        domains=domains,
        account=account,
        data_size_limit=data_size_limit,
        attachment_max_bytes=attachment_max_bytes,
        intake_loop=intake_loop,
    )
    options = smtp_options(
        hostname=hostname or sorted(handler.domains)[0],
        data_size_limit=data_size_limit,
        tls=tls,
        password_check=password_check,
        allow_auth_without_tls=allow_auth_without_tls,
    )
    server_hostname = options.pop("hostname")
    controller = Controller(
        handler, hostname=host, port=port, server_hostname=server_hostname, **options
    )
    controller.start()
    return controller

"""qanat's settings: one object, read from ``QANAT_*`` environment variables at start-up.

Nothing here runs at import time; call :func:`load_settings` where a process starts
(the CLI, the worker's start-up hook, the web app factory) and hand the object on.
Unset values mean the embedded default: one data folder (``QANAT_HOME``, by default
``./qanat-data``) holding the SQLite database, the attachments, the learned routing
model and, when present, the rules and connectors files; jobs run inline.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar
from zoneinfo import ZoneInfo

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from qanat.errors import ConfigError

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Placeholder secrets that may only be used in development.
PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "qanat-development-secret"})

#: The data folder every command uses unless ``QANAT_HOME`` names another.
DEFAULT_HOME = Path("qanat-data")
#: What the data folder holds, by name: each is the default of its own setting.
HOME_DATABASE = "qanat.db"
HOME_FILES = "files"
HOME_RULES = "rules.yaml"
HOME_MODEL = "router-model.npz"
HOME_PAIR_MODEL = "dedupe-model.json"
HOME_DEDUPE_SNAPSHOT = "dedupe-index.jsonl"
HOME_CONNECTORS = "connectors.yaml"
#: PostgreSQL connections a process keeps open, and how many more it may open under a
#: burst: one opened past the pool is closed again when returned, and opening it costs
#: more than the insert it serves.
POSTGRES_POOL_SIZE = 20
POSTGRES_POOL_OVERFLOW = 10
#: A pooled connection is replaced after this long (s), so a server or proxy that drops
#: idle connections finds none that old.
POSTGRES_POOL_RECYCLE_S = 1800
#: Each connection is tested before use (a round trip): untested, the first request
#: after a database restart is answered "try again".
POSTGRES_PRE_PING = True


def sqlite_url(path: Path) -> str:
    """The async SQLAlchemy URL of the SQLite file at ``path`` (made absolute)."""
    return f"sqlite+aiosqlite:///{path.resolve()}"


def home_defaults(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with the data folder's defaults for every path setting left unset.

    The rules and connectors files are taken from the folder only when they exist there
    (unset, qanat routes by the shipped sample rules and has no channel accounts).
    """
    home = Path(values.get("home") or DEFAULT_HOME)
    filled = dict(values)
    filled.setdefault("database_url", sqlite_url(home / HOME_DATABASE))
    filled.setdefault("attachments_dir", home / HOME_FILES)
    filled.setdefault("router_model_file", home / HOME_MODEL)
    filled.setdefault("dedupe_model_file", home / HOME_PAIR_MODEL)
    filled.setdefault("dedupe_snapshot_file", home / HOME_DEDUPE_SNAPSHOT)
    for key, name in (("rules_file", HOME_RULES), ("connectors_file", HOME_CONNECTORS)):
        if not filled.get(key) and (home / name).is_file():
            filled[key] = home / name
    return filled


def async_database_url(url: str) -> str:
    """Return ``url`` with the async driver qanat uses for its scheme.

    Operators write ``postgresql://…`` or ``sqlite:///…``; SQLAlchemy's async engine
    needs ``postgresql+asyncpg`` / ``sqlite+aiosqlite``.
    """
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql+psycopg://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


class Settings(BaseSettings):
    """Every setting qanat reads; see the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="QANAT_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    home: Path = Field(
        default=DEFAULT_HOME, description="The data folder: database, files, model, rules."
    )
    database_url: str = Field(default="", description="Unset: the data folder's SQLite file.")
    redis_url: str | None = Field(default=None, description="Unset: jobs run inline.")
    secret_key: str = "qanat-development-secret"
    timezone: str = "Asia/Bahrain"
    default_region: str = Field(default="BH", description="Region for phone numbers without +.")
    attachments_dir: Path = DEFAULT_HOME / HOME_FILES
    attachment_max_bytes: int = 10 * 1024 * 1024
    rules_file: Path | None = Field(default=None, description="Routing rules; unset: the sample.")
    router_model_file: Path | None = Field(
        default=None, description="Learned routing model (`qanat router train` writes it)."
    )
    dedupe_model_file: Path | None = Field(
        default=None,
        description="Learned duplicate model (`qanat dedupe train` writes it); "
        "until it exists, the model qanat ships.",
    )
    dedupe_snapshot_file: Path | None = Field(
        default=None,
        description="Where a worker keeps its duplicate index between runs, to start in "
        "seconds (from 10,000 open tickets; used only while it matches the store).",
    )
    max_attempts: int = Field(default=3, ge=1, description="Tries before dead letter.")
    metrics_token: str | None = Field(
        default=None, description="Bearer token for /metrics; unset: loopback scrapers only."
    )
    sweep_every_seconds: int = Field(
        default=60, ge=1, le=3600, description="How often waiting work is looked for."
    )
    sweep_grace_seconds: float = Field(
        default=60, ge=0, description="How long a saved message may wait before it is queued again."
    )
    send_attempts: int = Field(
        default=5, ge=1, description="Tries at sending a reply or staff mail before it fails."
    )
    notices: bool = Field(
        default=True,
        description="Tell citizens by themselves: the acknowledgement with the reference, "
        'status notices and the "is it fixed?" survey.',
    )
    notice_quiet_hours: str = Field(
        default="sms=21:00-07:00",
        description="Per channel, local hours when notices wait (channel=HH:MM-HH:MM, ...).",
    )
    survey_delay_hours: float = Field(
        default=24, ge=0, description="How long after resolution the citizen is asked."
    )
    sms_followup_hours: float = Field(
        default=48, ge=0, description="An SMS from a number with an open ticket joins it."
    )
    smtp_domains: str = Field(
        default="", description="Comma-separated domains qanat's SMTP listener accepts mail for."
    )
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    smtp_max_bytes: int = 25 * 1024 * 1024
    smtp_tls_cert: Path | None = None
    smtp_tls_key: Path | None = None

    def smtp_domain_set(self) -> set[str]:
        """The domains in ``QANAT_SMTP_DOMAINS``, lower-cased."""
        return {d.strip().lower() for d in self.smtp_domains.split(",") if d.strip()}

    connectors_file: Path | None = None
    photo_max_bytes: int = Field(
        default=5 * 1024 * 1024, ge=1024, description="Largest photo the web form and app take."
    )
    photos_per_report: int = Field(default=3, ge=0, le=10, description="Photos per report.")
    blocks_file: Path | None = Field(
        default=None, description="Blocks representatives cover; unset: the gazetteer's."
    )
    public_reports_per_ip: int = Field(default=10, ge=1, description="Web reports per address/h.")
    public_reports_per_contact: int = Field(
        default=5, ge=1, description="Reports per phone or email per hour (web, app, Open311)."
    )
    status_lookups_per_ip: int = Field(default=30, ge=1, description="Status lookups per hour.")
    open311_requests_per_key: int = Field(default=600, ge=1, description="POSTs per key per hour.")
    public_wait_seconds: float = Field(
        default=5.0, ge=0, description="How long a public answer waits for a queued reference."
    )
    visit_far_metres: float = Field(
        default=250,
        gt=0,
        description="A visit's GPS fix further than this from the place is flagged.",
    )
    map_tiles: str = Field(
        default="",
        description="Map tile URL template ({z}/{x}/{y}); empty: maps show markers, no tiles.",
    )
    map_attribution: str = Field(default="", description="The tile server's required credit.")
    notify_account: str | None = Field(
        default=None,
        description="Email account whose SMTP relay mails staff; unset: the first with one.",
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="Log lines: readable text, or JSON for a collector."
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies whose X-Forwarded-For / -Proto qanat serve believes (comma list).",
    )
    access_log: bool = Field(
        default=True,
        description="A log line for every request; off: only requests that end in an error.",
    )
    db_pool_size: int = Field(
        default=POSTGRES_POOL_SIZE,
        ge=1,
        description="PostgreSQL connections each process keeps open (serve: per worker).",
    )
    db_pool_overflow: int = Field(
        default=POSTGRES_POOL_OVERFLOW,
        ge=0,
        description="Connections a process may open past the pool under a burst.",
    )
    db_pool_recycle_s: int = Field(
        default=POSTGRES_POOL_RECYCLE_S,
        ge=-1,
        description="A pooled PostgreSQL connection older than this is replaced (-1: never).",
    )
    db_pre_ping: bool = Field(
        default=POSTGRES_PRE_PING,
        description="Test each PostgreSQL connection before use (a round trip per checkout; "
        "off, the first request after a database restart is answered 'try again').",
    )

    batch_size: int = Field(
        default=50,
        ge=1,
        le=1000,
        description="The most messages a worker processes in one transaction (1: one by one).",
    )
    batch_wait_ms: int = Field(
        default=20,
        ge=0,
        le=1000,
        description="How long a worker's lone message waits for others to share its batch.",
    )

    worker_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description="How much a worker yields the CPU to what shares its machine (0–19, "
        "the operating system's niceness): on one box, webhooks are acknowledged first and "
        "processing takes what is left; on a worker's own machine it changes nothing.",
    )

    reference_block: int = Field(
        default=1,
        ge=1,
        le=1000,
        description="Ticket numbers a process takes at once (PostgreSQL; 1: one by one, in order).",
    )

    def pool_options(self) -> dict[str, Any]:
        """The engine's pool settings (PostgreSQL; SQLite ignores them)."""
        return {
            "pool_size": self.db_pool_size,
            "max_overflow": self.db_pool_overflow,
            "pool_recycle": self.db_pool_recycle_s,
            "pool_pre_ping": self.db_pre_ping,
        }

    @model_validator(mode="before")
    @classmethod
    def _data_folder(cls, values: Any) -> Any:
        return home_defaults(values) if isinstance(values, dict) else values

    @field_validator(
        "rules_file",
        "router_model_file",
        "dedupe_model_file",
        "dedupe_snapshot_file",
        "connectors_file",
        "blocks_file",
        "smtp_tls_cert",
        "smtp_tls_key",
        mode="before",
    )
    @classmethod
    def _empty_means_unset(cls, value: Any) -> Any:
        # `QANAT_RULES_FILE=` (as compose writes ${QANAT_RULES_FILE:-}) means "not set",
        # not the current folder.
        return None if value == "" else value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return async_database_url(value)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except Exception as exc:  # ZoneInfoNotFoundError or a malformed key
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @field_validator("notice_quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        span = r"\s*[a-z0-9_]+\s*=\s*\d\d:\d\d\s*-\s*\d\d:\d\d\s*"
        if value.strip() and not re.fullmatch(f"{span}(,{span})*", value):
            raise ValueError("quiet hours are like sms=21:00-07:00,telegram=23:00-06:00")
        return value

    @model_validator(mode="after")
    def _no_placeholder_secret_in_production(self) -> Settings:
        if self.environment != "development" and self.secret_key in PLACEHOLDER_SECRETS:
            raise ValueError(
                "QANAT_SECRET_KEY is a placeholder; set a real secret outside development"
            )
        return self

    @property
    def tz(self) -> ZoneInfo:
        """The body's local timezone, for calendars, reports and the nightly job."""
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        """True when the store is the embedded SQLite database."""
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, with ``overrides`` taking precedence.

    Raises :class:`ConfigError` naming the variable at fault.
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"QANAT_{'_'.join(str(p) for p in err['loc']).upper() or 'SETTINGS'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(problems) from exc


class ReloadedFile(Generic[T]):
    """A file qanat reads again when it changes (its time or size): a model ``qanat …
    train`` writes, picked up by a running serve or worker without a restart. None until
    the file exists (or with no path); a file that cannot be read (``read`` raises
    ValueError) keeps the last good value and says so in the log."""

    def __init__(self, path: Path | None, read: Callable[[Path], T], what: str) -> None:
        self.path = path
        self._read, self._what = read, what
        self._stamp: tuple[float, int] | None = None
        self._value: T | None = None

    def current(self) -> T | None:
        """The value now."""
        if self.path is None:
            return None
        try:
            stat = self.path.stat()
        except OSError:
            return self._value
        stamp = (stat.st_mtime, stat.st_size)
        if stamp != self._stamp:
            try:
                self._value = self._read(self.path)
            except ValueError as exc:
                log.warning("cannot read the %s: %s", self._what, exc)
            self._stamp = stamp
        return self._value

"""Settings: defaults, driver selection, refusals that name the variable."""

from __future__ import annotations

import pytest

from qanat.config import DEFAULT_DATABASE_URL, async_database_url, load_settings
from qanat.errors import ConfigError


def test_unset_means_the_embedded_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("QANAT_DATABASE_URL", "QANAT_REDIS_URL", "QANAT_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.is_sqlite
    assert settings.redis_url is None
    assert settings.timezone == "Asia/Bahrain"


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QANAT_DATABASE_URL", "postgresql://qanat@db/qanat")
    monkeypatch.setenv("QANAT_REDIS_URL", "redis://cache:6379/0")
    settings = load_settings()
    assert settings.database_url == "postgresql+asyncpg://qanat@db/qanat"
    assert settings.redis_url == "redis://cache:6379/0"
    assert not settings.is_sqlite


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgres://u@h/d", "postgresql+asyncpg://u@h/d"),
        ("postgresql+asyncpg://u@h/d", "postgresql+asyncpg://u@h/d"),
    ],
)
def test_async_driver_is_chosen(given: str, expected: str) -> None:
    assert async_database_url(given) == expected


def test_placeholder_secret_is_refused_in_production() -> None:
    with pytest.raises(ConfigError, match="QANAT_SECRET_KEY"):
        load_settings(environment="production", secret_key="change-me")
    assert load_settings(environment="production", secret_key="s3cr3t-" * 6).secret_key


def test_unknown_timezone_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="QANAT_TIMEZONE"):
        load_settings(timezone="Mars/Olympus")

"""Settings: defaults, driver selection, refusals that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from qanat.config import DEFAULT_HOME, async_database_url, load_settings
from qanat.errors import ConfigError


def test_unset_means_the_embedded_default_in_the_data_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("QANAT_DATABASE_URL", "QANAT_REDIS_URL", "QANAT_ENVIRONMENT", "QANAT_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.home == DEFAULT_HOME == Path("qanat-data")
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'qanat-data' / 'qanat.db'}"
    assert settings.attachments_dir == Path("qanat-data/files")
    assert settings.router_model_file == Path("qanat-data/router-model.npz")
    assert settings.rules_file is None and settings.connectors_file is None
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


def test_every_path_follows_qanat_home_and_files_there_are_picked_up(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("QANAT_DATABASE_URL", raising=False)
    monkeypatch.setenv("QANAT_HOME", str(tmp_path / "data"))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "rules.yaml").write_text("departments: []\n")
    settings = load_settings()
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'data' / 'qanat.db'}"
    assert settings.attachments_dir == tmp_path / "data" / "files"
    assert settings.rules_file == tmp_path / "data" / "rules.yaml"
    assert settings.connectors_file is None  # not there: no channel accounts
    # A setting given explicitly wins over the data folder's default.
    monkeypatch.setenv("QANAT_DATABASE_URL", "postgresql://qanat@db/qanat")
    assert load_settings(attachments_dir="/srv/files").attachments_dir == Path("/srv/files")
    assert load_settings().database_url == "postgresql+asyncpg://qanat@db/qanat"


def test_an_empty_file_setting_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QANAT_RULES_FILE", "")
    monkeypatch.setenv("QANAT_CONNECTORS_FILE", "")
    settings = load_settings()
    assert settings.rules_file is None and settings.connectors_file is None

"""Connector accounts file: secrets from the environment or files, clear errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qanat.errors import ConfigError
from qanat.ingest.accounts import load_accounts

FIXTURE = Path(__file__).parent.parent / "fixtures" / "connectors" / "accounts.yaml"


def test_secrets_come_from_environment_and_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(FIXTURE, tmp_path / "accounts.yaml")
    (tmp_path / "imap_password.txt").write_text("s3cret\n")
    monkeypatch.setenv("QANAT_TEST_TELEGRAM_TOKEN", "123:ABC")
    monkeypatch.chdir(tmp_path)
    accounts = load_accounts(tmp_path / "accounts.yaml")
    assert accounts["telegram"] == [
        {"account": "ministry_bot", "mode": "webhook", "token": "123:ABC"}
    ]
    assert accounts["email_imap"][0]["password"] == "s3cret"


def test_a_missing_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QANAT_TEST_TELEGRAM_TOKEN", raising=False)
    with pytest.raises(
        ConfigError, match=r"telegram\[0\]: token_env names QANAT_TEST_TELEGRAM_TOKEN"
    ):
        load_accounts(FIXTURE)


def test_no_file_means_no_accounts() -> None:
    assert load_accounts(None) == {}


def test_nested_settings_take_their_secrets_from_the_environment_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts_file = tmp_path / "accounts.yaml"
    accounts_file.write_text(
        "email:\n  - account: complaints\n"
        "    smtp: {host: smtp.example.bh, password_env: QANAT_TEST_SMTP_PASSWORD,"
        " from_address: complaints@example.bh}\n"
    )
    monkeypatch.setenv("QANAT_TEST_SMTP_PASSWORD", "relay-secret")
    [account] = load_accounts(accounts_file)["email"]
    assert account["smtp"]["password"] == "relay-secret"
    assert "password_env" not in account["smtp"]
    monkeypatch.delenv("QANAT_TEST_SMTP_PASSWORD")
    with pytest.raises(ConfigError, match=r"email\[0\]\.smtp: password_env names"):
        load_accounts(accounts_file)


@pytest.mark.parametrize(
    ("entry", "key"),
    [
        ("telegram:\n  - {account: bot, token: '123:ABC'}\n", "token"),
        ("sms:\n  - {account: gw, provider: generic, secret: s3cret}\n", "secret"),
        ("email:\n  - {account: c, smtp: {host: h, password: p}}\n", "password"),
        ("x:\n  - {account: a, consumer_key: k}\n", "consumer_key"),
    ],
)
def test_a_secret_written_in_the_file_is_refused_with_where_to_put_it(
    tmp_path: Path, entry: str, key: str
) -> None:
    accounts_file = tmp_path / "accounts.yaml"
    accounts_file.write_text(entry)
    with pytest.raises(ConfigError, match=rf"{key} is a secret: give {key}_env .* or {key}_file"):
        load_accounts(accounts_file)

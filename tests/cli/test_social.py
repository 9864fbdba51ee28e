"""``qanat social``: set a bot's webhook and poll an account by hand, from the shell."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qanat.cli.main import app
from tests.support.fake_telegram import FakeBotApi
from tests.support.loopback import serve

FIXTURES = Path(__file__).parent.parent / "fixtures" / "telegram"


@pytest.fixture(scope="module")
def fake_api() -> Iterator[tuple[FakeBotApi, str]]:
    fake = FakeBotApi()
    with serve(fake.app()) as url:
        yield fake, url


@pytest.fixture
def env(
    fake_api: tuple[FakeBotApi, str], database_url: str, tmp_path: Path
) -> Iterator[dict[str, str]]:
    fake, url = fake_api
    fake.reset()
    accounts = tmp_path / "connectors.yaml"
    accounts.write_text(
        "telegram:\n"
        "  - account: ministry_bot\n"
        "    mode: polling\n"
        "    token_env: TEST_TELEGRAM_TOKEN\n"
        "    secret_token_env: TEST_TELEGRAM_SECRET\n"
        f"    base_url: {url}/bot\n"
        f"    base_file_url: {url}/file/bot\n",
        encoding="utf-8",
    )
    yield {
        "QANAT_DATABASE_URL": database_url,
        "QANAT_CONNECTORS_FILE": str(accounts),
        "QANAT_ATTACHMENTS_DIR": str(tmp_path / "files"),
        "TEST_TELEGRAM_TOKEN": fake.token,
        "TEST_TELEGRAM_SECRET": "cli-secret",
    }


def invoke(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["social", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_setting_the_webhook_gives_telegram_the_url_and_secret(
    env: dict[str, str], fake_api: tuple[FakeBotApi, str]
) -> None:
    url = "https://qanat.example.bh/webhooks/telegram/ministry_bot"
    code, out, _ = invoke(env, "telegram-webhook", "ministry_bot", url)
    assert code == 0 and "webhook set" in out
    [call] = fake_api[0].calls_to("setWebhook")
    assert call["url"] == url and call["secret_token"] == "cli-secret"
    assert call["allowed_updates"] == ["message", "edited_message"]


def test_a_poll_by_hand_reports_what_it_saved(
    env: dict[str, str], fake_api: tuple[FakeBotApi, str]
) -> None:
    fake_api[0].updates.append(json.loads((FIXTURES / "text_arabic.json").read_text()))
    code, out, _ = invoke(env, "poll", "telegram", "ministry_bot")
    assert code == 0
    report = json.loads(out)
    assert (report["saved"], report["error"]) == (1, None)


def test_an_unknown_account_is_named_in_the_error(env: dict[str, str]) -> None:
    code, _, err = invoke(env, "poll", "x", "nobody")
    assert code == 1 and "no x account 'nobody'" in err
    code, _, _ = invoke(env, "poll", "fax", "nobody")
    assert code == 2
